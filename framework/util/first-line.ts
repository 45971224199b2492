/** The first line of a message, trimmed: what a one-line error or log line shows of it. */
export function firstLine(text: string): string {
  return text.split('\n', 1)[0].trim();
}
