import { DEFAULT_DAYS } from "./calendar.js";

/** Bad option values; the CLI turns it into a message and exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface GenerateParams {
  scale: number;
  seed: number;
  days: number;
  /** Share of device-days that get telemetry, (0, 1]. */
  telemetryDensity: number;
}

export const GENERATE_DEFAULTS: GenerateParams = {
  scale: 1,
  seed: 42,
  days: DEFAULT_DAYS,
  telemetryDensity: 1,
};

export interface SimulateParams {
  rate: number;
  durationS?: number;
  maxChanges?: number;
  seed: number;
  /** CRM users the simulator leaves alone. */
  spareUsers?: readonly number[];
}

const MAX_SEED = 0xffffffff;

function number(option: string, raw: string): number {
  const value = raw.trim() === "" ? NaN : Number(raw);
  if (!Number.isFinite(value)) throw new UsageError(`${option} must be a number, got "${raw}"`);
  return value;
}

function requireRange(option: string, value: number, min: number, max: number, integer: boolean): void {
  if (integer && !Number.isInteger(value)) throw new UsageError(`${option} must be an integer, got ${value}`);
  if (value < min || value > max)
    throw new UsageError(`${option} must be between ${min} and ${max}, got ${value}`);
}

function requirePositive(option: string, value: number, max: number): void {
  if (!(value > 0) || value > max)
    throw new UsageError(`${option} must be greater than 0 and at most ${max}, got ${value}`);
}

export function checkGenerateParams(p: GenerateParams): void {
  // 1/24 is the smallest scale that still rounds to one user.
  if (!(p.scale >= 1 / 24) || p.scale > 10_000) {
    throw new UsageError(`--scale must be between 0.042 (one user) and 10000, got ${p.scale}`);
  }
  requireRange("--seed", p.seed, 0, MAX_SEED, true);
  requireRange("--days", p.days, 1, 3650, true);
  requirePositive("--telemetry-density", p.telemetryDensity, 1);
}

export function checkSimulateParams(p: SimulateParams): void {
  requirePositive("--rate", p.rate, 100_000);
  if (p.durationS !== undefined) requirePositive("--duration", p.durationS, 31 * 86_400);
  if (p.maxChanges !== undefined)
    requireRange("--max-changes", p.maxChanges, 1, Number.MAX_SAFE_INTEGER, true);
  requireRange("--seed", p.seed, 0, MAX_SEED, true);
}

export interface RawGenerateOptions {
  scale?: string;
  seed?: string;
  days?: string;
  telemetryDensity?: string;
}

/** Option strings as commander hands them over -> checked parameters. */
export function parseGenerateArgs(raw: RawGenerateOptions): GenerateParams {
  const params: GenerateParams = {
    scale: raw.scale === undefined ? GENERATE_DEFAULTS.scale : number("--scale", raw.scale),
    seed: raw.seed === undefined ? GENERATE_DEFAULTS.seed : number("--seed", raw.seed),
    days: raw.days === undefined ? GENERATE_DEFAULTS.days : number("--days", raw.days),
    telemetryDensity:
      raw.telemetryDensity === undefined
        ? GENERATE_DEFAULTS.telemetryDensity
        : number("--telemetry-density", raw.telemetryDensity),
  };
  checkGenerateParams(params);
  return params;
}

export interface RawSimulateOptions {
  rate?: string;
  duration?: string;
  maxChanges?: string;
  seed?: string;
  spareUsers?: string;
}

export function parseSimulateArgs(raw: RawSimulateOptions): SimulateParams {
  if (raw.rate === undefined) throw new UsageError("--rate is required");
  const params: SimulateParams = {
    rate: number("--rate", raw.rate),
    seed: raw.seed === undefined ? GENERATE_DEFAULTS.seed : number("--seed", raw.seed),
  };
  if (raw.duration !== undefined) params.durationS = number("--duration", raw.duration);
  if (raw.maxChanges !== undefined) params.maxChanges = number("--max-changes", raw.maxChanges);
  if (raw.spareUsers !== undefined) {
    params.spareUsers = raw.spareUsers.split(",").map((id) => {
      const value = number("--spare-users", id);
      requireRange("--spare-users", value, 1, Number.MAX_SAFE_INTEGER, true);
      return value;
    });
  }
  checkSimulateParams(params);
  return params;
}
