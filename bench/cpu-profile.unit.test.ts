import { describe, expect, it } from "vitest";
import { repoRoot } from "../scripts/config.js";
import { summariseProfile } from "./cpu-profile.js";

const frame = (functionName: string, url = "", lineNumber = -1) => ({ functionName, url, lineNumber });

describe("summariseProfile", () => {
  it("splits the sampled time into self time per function and per area, idle and GC", () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: frame("(root)") },
        { id: 2, callFrame: frame("(idle)") },
        { id: 3, callFrame: frame("(garbage collector)") },
        { id: 4, callFrame: frame("mapChange", `file://${repoRoot}/consumers/src/mapping/map-change.ts`, 9) },
        {
          id: 5,
          callFrame: frame(
            "decodeRecord",
            `file://${repoRoot}/node_modules/kafkajs/src/protocol/decoder.js`,
            99,
          ),
        },
        {
          id: 6,
          callFrame: frame("query", `file://${repoRoot}/node_modules/@clickhouse/client/dist/client.js`, 0),
        },
        { id: 7, callFrame: frame("", "node:buffer", 4) },
      ],
      // 100 µs idle, 200 µs GC, 400 µs mapChange (two samples), 200 µs kafkajs, 50 µs client, 50 µs node.
      samples: [2, 3, 4, 5, 4, 6, 7],
      timeDeltas: [100, 200, 300, 200, 100, 50, 50],
    };
    const s = summariseProfile(profile, "x.cpuprofile");
    expect(s.sampledMs).toBe(1);
    expect(s.idleShare).toBe(0.1);
    expect(s.gcShare).toBe(0.2);
    expect(s.functions).toEqual([
      ["mapChange consumers/src/mapping/map-change.ts:10", 0.4],
      ["(garbage collector)", 0.2],
      ["decodeRecord kafkajs/src/protocol/decoder.js:100", 0.2],
      ["(idle)", 0.1],
      ["query @clickhouse/client/dist/client.js:1", 0.05],
      ["(anonymous) node:buffer:5", 0.05],
    ]);
    expect(s.areas).toEqual([
      ["consumers/src/mapping/", 0.4],
      ["(garbage collector)", 0.2],
      ["kafkajs", 0.2],
      ["(idle)", 0.1],
      ["@clickhouse/client", 0.05],
      ["(node runtime)", 0.05],
    ]);
  });
});
