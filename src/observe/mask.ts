/**
 * Masking of SIM identities for anything rendered (status pages, JSON, terminal views), since
 * those get screenshotted and pasted: `89860117831003134201` → `8986…4201`.
 */

/** The first and last four characters with `…` between; short or empty values become `…`. */
export function maskIdentity(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length <= 8) return '…';
  return `${value.slice(0, 4)}…${value.slice(-4)}`;
}
