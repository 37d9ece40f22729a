/**
 * Results: runs appended to `results/<experiment>/<preset>/runs.jsonl`, tables built from them
 * (Markdown, CSV, HTML), figures from plotly specs (HTML, PNG, SVG), and notebook display.
 */
export {
  type RunRecord,
  type AppendOptions,
  type AppendIo,
  ResultsWriteError,
  runsFile,
  appendRun,
  readRuns,
  checkRunRecord,
  hostName,
} from '../runner/store/runs';
export {
  type ColumnTable,
  type Digits,
  type SummariseOptions,
  type MarkdownOptions,
  runsTable,
  summarise,
  toMarkdown,
  toCsv,
  toHtml,
  writeTable,
} from './table';
export {
  type FigureSpec,
  tickLabel,
  type FigureFormat,
  type ImageFormat,
  type ImageOptions,
  type WriteFigureOptions,
  type AxesOptions,
  writeFigure,
  renderFigure,
  closeFigureBrowser,
  imageUnavailable,
  chromiumPath,
  figureHtml,
  figureFragment,
  lineFigure,
  errorBarFigure,
  panelFigure,
  heatmapFigure,
  imageGridFigure,
} from './figure';
export { type ShowFigureOptions, showTable, showFigure, showMarkdown, showPreset, presetBanner } from './display';
export { insideTslab } from './kernel';
export { writeFileAtomic } from '../io/atomic';
export { runTimeLine } from './timing';
export { writeEventFiles, eventFileBytes, recordScalars, crc32c } from '../runner/store/tensorboard';
