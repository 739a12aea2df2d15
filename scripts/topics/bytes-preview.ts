/** Previews of raw record bytes for `topics dlq`: what an operator needs to see why a record was refused. */

/** The first `maxBytes` bytes as spaced hex, with how many bytes were left out: `00 00 00 00 04 … (+12 bytes)`. */
export function hexPreview(bytes: Buffer, maxBytes = 32): string {
  const shown = [...bytes.subarray(0, maxBytes)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  const rest = bytes.length - Math.min(bytes.length, maxBytes);
  return rest > 0 ? `${shown} … (+${rest} bytes)` : shown;
}

/** Base64 of the first `maxBytes` bytes, with `…` when the bytes were cut. */
export function base64Preview(bytes: Buffer, maxBytes = 48): string {
  const text = bytes.subarray(0, maxBytes).toString("base64");
  return bytes.length > maxBytes ? `${text}…` : text;
}

/**
 * A hex dump of the first `maxBytes` bytes, 16 per line, `xxd`-like: offset, hex, printable ASCII
 * (other bytes as `.`). A last line says how many bytes were left out.
 */
export function hexDump(bytes: Buffer, maxBytes = 64): string[] {
  const lines: string[] = [];
  const shown = bytes.subarray(0, maxBytes);
  for (let at = 0; at < shown.length; at += 16) {
    const row = shown.subarray(at, at + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${at.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  |${ascii}|`);
  }
  if (bytes.length > shown.length) lines.push(`… ${bytes.length - shown.length} more bytes`);
  return lines;
}
