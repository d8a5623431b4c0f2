import { describe, expect, it } from 'vitest';
import { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_MAX_AGE_S, corsHeaders } from './cors.js';

describe('corsHeaders', () => {
  it('allows any origin without credentials for "*"', () => {
    expect(corsHeaders('*', 'https://a.example')).toEqual({
      'access-control-allow-origin': '*',
      vary: 'Origin',
    });
  });

  it('echoes a listed origin with credentials', () => {
    expect(
      corsHeaders(['https://a.example', 'http://localhost:3000'], 'http://localhost:3000'),
    ).toEqual({
      'access-control-allow-origin': 'http://localhost:3000',
      'access-control-allow-credentials': 'true',
      vary: 'Origin',
    });
  });

  it('gives nothing to a non-listed origin, or without an Origin', () => {
    expect(corsHeaders(['https://a.example'], 'https://a.example.evil')).toEqual({});
    expect(corsHeaders(['https://a.example'], 'http://a.example')).toEqual({});
    expect(corsHeaders([], 'https://a.example')).toEqual({});
    expect(corsHeaders('*', undefined)).toEqual({});
    expect(corsHeaders('*', '')).toEqual({});
  });

  it('uses the SPEC 6 preflight values', () => {
    expect(CORS_ALLOW_METHODS).toBe('GET, POST, OPTIONS');
    expect(CORS_ALLOW_HEADERS).toBe(
      'Last-Event-ID, Authorization, Cache-Control, Content-Type, Idempotency-Key',
    );
    expect(CORS_MAX_AGE_S).toBe(600);
  });
});
