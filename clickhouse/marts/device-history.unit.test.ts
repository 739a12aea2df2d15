import type { ClickHouseClient } from "@clickhouse/client";
import { describe, expect, it } from "vitest";
import { engineFeaturesOnce, PLAIN_SQL } from "./device-history.js";

/** A client whose feature questions get `answers` in turn: rows, or an error thrown instead. */
function answering(answers: (Error | { n: string }[])[]): { client: ClickHouseClient; asked: () => number } {
  let asked = 0;
  const client = {
    query: async () => {
      const answer = answers[asked++];
      if (answer === undefined || answer instanceof Error) throw answer ?? new Error("asked too often");
      return { json: async () => answer };
    },
  } as unknown as ClickHouseClient;
  return { client, asked: () => asked };
}

describe("engineFeaturesOnce", () => {
  it("keeps the engine's answer: asked once however often it is read", async () => {
    const { client, asked } = answering([[{ n: "1" }]]);
    const features = engineFeaturesOnce(client);
    const reads = await Promise.all([features(), features(), features()]);
    expect(reads).toEqual([{ materializedCte: true }, { materializedCte: true }, { materializedCte: true }]);
    expect(await features()).toEqual({ materializedCte: true });
    expect(asked()).toBe(1);
  });

  it("gives plain SQL while the engine does not answer, and asks again with the next read", async () => {
    const { client, asked } = answering([new Error("connect ECONNREFUSED"), [{ n: "1" }]]);
    const features = engineFeaturesOnce(client);
    expect(await features()).toEqual(PLAIN_SQL);
    expect(await features()).toEqual({ materializedCte: true });
    expect(await features()).toEqual({ materializedCte: true });
    expect(asked()).toBe(2);
  });

  it("an engine without the setting: plain SQL, kept", async () => {
    const { client, asked } = answering([[{ n: "0" }]]);
    const features = engineFeaturesOnce(client);
    expect(await features()).toEqual(PLAIN_SQL);
    expect(await features()).toEqual(PLAIN_SQL);
    expect(asked()).toBe(1);
  });
});
