/** `1 byte`, `2 bytes`, `1 echo`, `3 echoes`: counts in status lines read as English. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
