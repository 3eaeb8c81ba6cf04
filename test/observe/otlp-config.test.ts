import { describe, expect, it } from 'vitest';
import { otlpTarget, shownUrl } from '../../src/observe/otlp-config.js';

const target = (flag: string | undefined, env: Record<string, string> = {}) => otlpTarget(flag, env);

describe('SPEC 12: where the trace goes (flag, then the OTEL_EXPORTER_OTLP_* variables)', () => {
  it('a base URL gets /v1/traces; a URL with a path is used as is', () => {
    expect(target('http://collector:4318')).toEqual({
      ok: true,
      value: { url: 'http://collector:4318/v1/traces', from: '--otlp-endpoint' },
    });
    expect(target('https://otlp.example.com/custom/traces')).toMatchObject({
      value: { url: 'https://otlp.example.com/custom/traces' },
    });
    expect(target(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/prefix/' })).toMatchObject({
      value: { url: 'http://c:4318/prefix/v1/traces', from: 'OTEL_EXPORTER_OTLP_ENDPOINT' },
    });
  });

  it('the flag wins, then the traces variable, then the general one', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://general:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/v1/traces',
    };
    expect(target('http://flag:4318', env)).toMatchObject({ value: { url: 'http://flag:4318/v1/traces' } });
    expect(target(undefined, env)).toMatchObject({
      value: { url: 'http://traces:4318/v1/traces', from: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' },
    });
  });

  it('nothing when unset, or when the environment turned OpenTelemetry off; the flag still counts', () => {
    expect(target(undefined)).toEqual({ ok: true, value: undefined });
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    expect(target(undefined, { ...endpoint, OTEL_SDK_DISABLED: 'TRUE' })).toEqual({
      ok: true,
      value: undefined,
    });
    expect(target(undefined, { ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).toEqual({
      ok: true,
      value: undefined,
    });
    expect(target('http://flag:4318', { OTEL_SDK_DISABLED: 'true' })).toMatchObject({
      ok: true,
      value: { from: '--otlp-endpoint' },
    });
  });

  it('refuses what is not an http(s) URL, naming where it came from', () => {
    expect(target('collector:4317')).toMatchObject({
      ok: false,
      error: expect.stringContaining('not a collector URL'),
    });
    expect(target('not a url')).toMatchObject({
      ok: false,
      error: expect.stringContaining('--otlp-endpoint takes'),
    });
    expect(target(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: '::' })).toMatchObject({
      ok: false,
      error: expect.stringContaining('OTEL_EXPORTER_OTLP_ENDPOINT'),
    });
  });

  it('messages show the URL without what may hold a token', () => {
    expect(shownUrl('https://user:s3cret@otlp.example.com/v1/traces?api_key=s3cret#x')).toBe(
      'https://otlp.example.com/v1/traces',
    );
  });
});
