export * from './params';
export * from './schedule';
export * from './adamw';
export * from './ema';
export * from './checkpoint';
export * from './progress';
export * from './loop';
export * from './memory';
