export * from './knn';
export * from './probe';
export * from './rank';
export * from './fid';
export * from './accuracy';
export * from './probe-converged';
