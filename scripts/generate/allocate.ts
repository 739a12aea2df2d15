/**
 * Split an exact total into integer shares proportional to weights, never above a share's cap
 * (largest-remainder method, repeated while caps push units to the others). This is how
 * "exactly 234 payments" and "exactly 47 tickets" are spread over users with random weights.
 * Returns counts summing to min(total, sum of caps).
 */
export function allocate(total: number, weights: readonly number[], caps: readonly number[]): number[] {
  const counts: number[] = weights.map(() => 0);
  const room = (i: number) => (caps[i] ?? 0) - (counts[i] ?? 0);
  let remaining = Math.min(
    total,
    caps.reduce((sum, cap) => sum + cap, 0),
  );
  let open = weights.map((_, i) => i).filter((i) => room(i) > 0);
  while (remaining > 0 && open.length > 0) {
    // A zero weight still gets a sliver, so capped-out totals can always be placed somewhere.
    const weightOf = (i: number) => Math.max(weights[i] ?? 0, 1e-9);
    const weightSum = open.reduce((sum, i) => sum + weightOf(i), 0);
    const shares = open.map((i) => ({ i, share: (remaining * weightOf(i)) / weightSum }));
    let assigned = 0;
    for (const { i, share } of shares) {
      const units = Math.min(Math.floor(share), room(i));
      counts[i] = (counts[i] ?? 0) + units;
      assigned += units;
    }
    const byRemainder = shares
      .filter(({ i }) => room(i) > 0)
      .sort((a, b) => (b.share % 1) - (a.share % 1) || a.i - b.i);
    for (const { i } of byRemainder) {
      if (assigned >= remaining) break;
      counts[i] = (counts[i] ?? 0) + 1;
      assigned++;
    }
    remaining -= assigned;
    open = open.filter((i) => room(i) > 0);
  }
  return counts;
}
