/**
 * The playground page (SPEC 10): served at `/` on the public port when PLAYGROUND is on, a 404
 * when it is off; and the publish route it uses is open only while it is on (SPEC 7).
 */
import { describe, expect, it } from 'vitest';
import { startGateway } from '../helpers/gateway-fixture.js';
import { errorCode, request } from '../helpers/http-client.js';

describe('playground', () => {
  it('serves the page at / and lets it publish on the public port when PLAYGROUND is on', async () => {
    await using gw = await startGateway({ playground: true });
    const page = await request(`${gw.publicUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('<title>ssehub playground</title>');
    // The page's script uses these same-origin routes.
    expect(page.text).toContain("new EventSource('subscribe?' + params)");
    expect(page.text).toContain("fetch('publish'");
    const published = await request(`${gw.publicUrl}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic: 'pets/dogs', data: 'Corgi' }),
    });
    expect(published.status).toBe(200);
  });

  it('answers / with a 404 and refuses public publishing when PLAYGROUND is off', async () => {
    await using gw = await startGateway({ playground: false });
    const page = await request(`${gw.publicUrl}/`);
    expect(page.status).toBe(404);
    expect(errorCode(page)).toBe('NOT_FOUND');
    const published = await request(`${gw.publicUrl}/publish/pets/dogs`, {
      method: 'POST',
      body: 'x',
    });
    expect(published.status).toBe(403);
    expect(errorCode(published)).toBe('FORBIDDEN');
  });
});
