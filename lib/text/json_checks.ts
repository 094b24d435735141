// Small helpers for validating parsed JSON (tokenizer files are untrusted input): type tests and a
// short description of an unexpected value for error messages.

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A short description of a JSON value for error messages: 'a string', 'null', 'an array of 3', ... */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return value.length <= 40 ? `the string ${JSON.stringify(value)}` : 'a string';
    case 'number':
      return `the number ${value}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

/** Throws unless `json` is an object with the given `type` and `version` fields. */
export function checkHeader(json: unknown, type: string, version: number): Record<string, unknown> {
  if (!isPlainObject(json)) throw new Error(`expected a JSON object, got ${describeValue(json)}`);
  if (json.type !== type) throw new Error(`"type" must be ${JSON.stringify(type)}, got ${describeValue(json.type)}`);
  if (json.version !== version) {
    throw new Error(`unsupported "version" ${describeValue(json.version)} (this reader knows version ${version})`);
  }
  return json;
}
