/**
 * Piecewise-linear battery state over a local day (hours 0..24). Every segment carries the
 * current that explains its slope (percent per hour = current / capacity * 100), so sampled
 * battery_metrics, event values and raw samples all tell the same story.
 */
export interface BatterySegment {
  fromH: number;
  toH: number;
  startLevel: number;
  /** Percent per hour, negative while discharging. */
  ratePerH: number;
  /** Positive while charging (including the trickle once full), negative while discharging. */
  currentMa: number;
  charging: boolean;
}

/** A full battery on the charger still draws a small maintenance current. */
const TRICKLE_MA = 25;

export class BatteryTrack {
  readonly segments: BatterySegment[] = [];

  constructor(
    private levelNow: number,
    private readonly capacityMah: number,
  ) {}

  get level(): number {
    return this.levelNow;
  }

  private push(fromH: number, toH: number, currentMa: number, charging: boolean): void {
    if (toH <= fromH) return;
    const ratePerH = charging && this.levelNow >= 100 ? 0 : (currentMa / this.capacityMah) * 100;
    this.segments.push({ fromH, toH, startLevel: this.levelNow, ratePerH, currentMa, charging });
    this.levelNow = Math.min(100, Math.max(0, this.levelNow + ratePerH * (toH - fromH)));
  }

  /** Discharge (device on or idle): `drawMa` is the magnitude of the current drawn. */
  drain(fromH: number, toH: number, drawMa: number): void {
    this.push(fromH, toH, -drawMa, false);
  }

  /** Charge at `chargeMa` until full, then trickle for the rest of the interval. */
  charge(fromH: number, toH: number, chargeMa: number): void {
    if (this.levelNow < 100) {
      const fullAtH = fromH + (100 - this.levelNow) / ((chargeMa / this.capacityMah) * 100);
      const stopH = Math.min(toH, fullAtH);
      this.push(fromH, stopH, chargeMa, true);
      if (stopH === fullAtH) this.levelNow = 100;
      fromH = stopH;
    }
    this.push(fromH, toH, TRICKLE_MA, true);
  }

  /** Hours of draw at `drawMa` until the level falls to `target` (Infinity if already below). */
  hoursUntil(target: number, drawMa: number): number {
    if (this.levelNow <= target) return Infinity;
    return (this.levelNow - target) / ((drawMa / this.capacityMah) * 100);
  }

  /** Level at local hour `h`; `h` outside the recorded segments clamps to the nearest end. */
  at(h: number): { level: number; currentMa: number; charging: boolean } {
    const segment = this.segmentAt(h);
    if (segment === undefined) return { level: this.levelNow, currentMa: 0, charging: false };
    const within = Math.min(Math.max(h, segment.fromH), segment.toH);
    const level = segment.startLevel + segment.ratePerH * (within - segment.fromH);
    return {
      level: Math.min(100, Math.max(0, level)),
      currentMa: segment.currentMa,
      charging: segment.charging,
    };
  }

  private segmentAt(h: number): BatterySegment | undefined {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.segments[mid]?.fromH ?? Infinity) <= h) lo = mid;
      else hi = mid - 1;
    }
    return this.segments[lo];
  }
}
