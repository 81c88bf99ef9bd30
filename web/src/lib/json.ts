// The API sends amounts as JSON numbers (exact decimals on the server). JSON.parse would turn
// them into doubles, so we read every number token as its original text instead: numbers
// arrive in our objects as strings ("41.66666666"), ready for parseFixed. Request bodies go
// the other way: a Decimal marker is written into the JSON as a bare number, digit for digit.

/** Parses JSON, keeping every number as its exact source text (a string). */
export function parseJsonExact<T = unknown>(text: string): T {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      // copy a string literal verbatim, honouring escapes
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i + 1;
      while (j < n && /[0-9eE+\-.]/.test(text[j])) j++;
      out += '"' + text.slice(i, j) + '"';
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out) as T;
}

/** A decimal to be sent as a JSON number exactly as written. */
export class Decimal {
  constructor(public readonly text: string) {
    if (!/^-?(0|[1-9]\d*)(\.\d+)?$/.test(text)) throw new RangeError(`not a plain decimal: ${text}`);
  }
}

/** Normalises what a trader typed ("1000.", ".5", "007") into a JSON number literal. */
export function decimal(text: string): Decimal {
  let t = text.trim();
  if (t.startsWith('.')) t = '0' + t;
  if (t.endsWith('.')) t = t.slice(0, -1);
  t = t.replace(/^(-?)0+(?=\d)/, '$1');
  return new Decimal(t);
}

/** JSON.stringify that writes Decimal values as bare numbers. */
export function stringifyExact(value: unknown): string {
  const marks: string[] = [];
  const json = JSON.stringify(value, (_key, v) => {
    if (v instanceof Decimal) {
      marks.push(v.text);
      return `\u0000dec${marks.length - 1}\u0000`;
    }
    return v;
  });
  return json.replace(/"\\u0000dec(\d+)\\u0000"/g, (_m, k: string) => marks[Number(k)]);
}
