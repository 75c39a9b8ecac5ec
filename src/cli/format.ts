/** Human-readable renderings used by several commands. */

/** `▂▄▆█` style bars for 0–5 bars. */
export function barGlyphs(bars: number): string {
  const n = Math.max(0, Math.min(5, Math.round(bars)));
  return '▁▂▃▅▇'.slice(0, n).padEnd(5, '·');
}

/** A JSON-ish value as one short line. */
export function short(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Bytes as a printable line: text when it is printable UTF-8, else hex. */
export function printable(data: Buffer): string {
  const text = data.toString('utf8');
  // eslint-disable-next-line no-control-regex
  if (Buffer.from(text, 'utf8').equals(data) && !/[\x00-\x08\x0e-\x1f\x7f]/.test(text)) return text;
  return `<${data.length} bytes: ${data.subarray(0, 64).toString('hex')}${data.length > 64 ? '…' : ''}>`;
}
