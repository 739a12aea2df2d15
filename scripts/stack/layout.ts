import path from "node:path";

/** Where the native stack keeps downloads, data, pid files and logs (all under the ignored state dir). */
export interface StackLayout {
  stateDir: string;
  m2: string;
  installDir: string;
  dataDir: string;
  runDir: string;
  logDir: string;
}

export function stackLayout(stateDir: string): StackLayout {
  return {
    stateDir,
    m2: path.join(stateDir, "m2"),
    installDir: path.join(stateDir, "stack"),
    dataDir: path.join(stateDir, "data"),
    runDir: path.join(stateDir, "run"),
    logDir: path.join(stateDir, "logs"),
  };
}

export const logFile = (layout: StackLayout, component: string): string =>
  path.join(layout.logDir, `${component}.log`);
export const pidFile = (layout: StackLayout, component: string): string =>
  path.join(layout.runDir, `${component}.pid`);
