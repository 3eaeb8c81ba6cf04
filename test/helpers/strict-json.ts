/**
 * JSON.parse that rejects an object with the same key twice, as Elasticsearch does (JSON.parse
 * keeps the last one silently). A small recursive-descent reader over JSON's tokens; values are
 * decoded with JSON.parse itself, so only the structure is checked here.
 */
export function parseStrictJson(text: string): unknown {
  let at = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at offset ${at} in ${text.slice(0, 200)}`);
  };
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at]!)) at += 1;
  };
  const string = (): string => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids raw control characters in strings
    const match = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(text.slice(at));
    if (!match) return fail('bad string');
    at += match[0].length;
    return JSON.parse(match[0]) as string;
  };
  const value = (): unknown => {
    space();
    const char = text[at];
    if (char === '{') {
      at += 1;
      const object: Record<string, unknown> = {};
      const seen = new Set<string>();
      space();
      if (text[at] === '}') {
        at += 1;
        return object;
      }
      for (;;) {
        space();
        const key = string();
        if (seen.has(key)) fail(`duplicate key "${key}"`);
        seen.add(key);
        space();
        if (text[at] !== ':') fail('expected ":"');
        at += 1;
        object[key] = value();
        space();
        if (text[at] === ',') at += 1;
        else if (text[at] === '}') {
          at += 1;
          return object;
        } else fail('expected "," or "}"');
      }
    }
    if (char === '[') {
      at += 1;
      const list: unknown[] = [];
      space();
      if (text[at] === ']') {
        at += 1;
        return list;
      }
      for (;;) {
        list.push(value());
        space();
        if (text[at] === ',') at += 1;
        else if (text[at] === ']') {
          at += 1;
          return list;
        } else fail('expected "," or "]"');
      }
    }
    if (char === '"') return string();
    const match = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(at));
    if (!match) return fail('unexpected token');
    at += match[0].length;
    return JSON.parse(match[0]);
  };
  const result = value();
  space();
  if (at !== text.length) fail('trailing text');
  return result;
}
