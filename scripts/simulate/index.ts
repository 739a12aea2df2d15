export { simulate, type SimulateOptions } from "./simulate.js";
export { formatSummary, type ChangeCounts, type SimulateSummary } from "./summary.js";
