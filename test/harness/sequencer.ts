import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Integration files that take longest (seconds on the 2-core CI host, 2026-12-06), started first so
 * that the last ones to finish are short. Vitest orders by the durations it cached in the previous run;
 * a clean clone (CI) has none, and by file size the longest (replay-kill) started last and ran alone
 * at the end.
 */
const LONGEST_FIRST = [
  "test/main-path.int.test.ts", // ~225 s
  "test/replay-kill.int.test.ts", // ~220 s
  "test/replay.int.test.ts", // ~140 s
  "test/crash.int.test.ts", // ~135 s
  "test/resnapshot.int.test.ts", // ~120 s
  "test/rebalance.int.test.ts", // ~105 s
  "test/dashboard.int.test.ts", // ~75 s
];

/** Vitest's order (failed first, then cached durations, then size), with the files above first. */
export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification): number => {
      const index = LONGEST_FIRST.findIndex((name) => file.moduleId.endsWith(name));
      return index < 0 ? LONGEST_FIRST.length : index;
    };
    return sorted
      .map((file, order) => ({ file, order }))
      .sort((a, b) => rank(a.file) - rank(b.file) || a.order - b.order)
      .map(({ file }) => file);
  }
}
