/**
 * Who may publish where (SPEC 7): on the admin port, anyone on the cluster network, or only
 * holders of ADMIN_TOKEN when it is set; on the public port, holders of a JWT whose `publish`
 * claim covers the topic, or anyone when auth is off and PLAYGROUND=1 (a development setting).
 */
import { timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import type { Authenticator } from '../auth/authenticator.js';
import { GatewayError } from '../errors.js';
import type { PublishAccess, PublishGrant } from '../http/routes/publish.js';

const ANY_TOPIC: PublishGrant = { check: () => undefined };

export function adminPublishAccess(adminToken: string | undefined): PublishAccess {
  return {
    admit(ctx) {
      if (adminToken !== undefined && !sameSecret(bearerToken(ctx), adminToken)) {
        // RFC 9110: a 401 names the scheme the client should use.
        ctx.set('www-authenticate', 'Bearer realm="ssehub-admin"');
        return Promise.reject(
          new GatewayError(
            'UNAUTHORIZED',
            'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".',
          ),
        );
      }
      return Promise.resolve(ANY_TOPIC);
    },
  };
}

export function publicPublishAccess(auth: Authenticator, playground: boolean): PublishAccess {
  return {
    async admit(ctx) {
      if (!auth.isEnabled) {
        if (playground) return ANY_TOPIC;
        throw new GatewayError(
          'FORBIDDEN',
          'Publishing on the public port needs auth (a JWT with a publish claim) or PLAYGROUND=1; publish on the admin port instead.',
        );
      }
      const accessToken = ctx.query['access_token'];
      const principal = await auth.authenticate({
        req: ctx.req,
        accessToken: typeof accessToken === 'string' ? accessToken : undefined,
      });
      if (principal === undefined) {
        ctx.set('www-authenticate', 'Bearer realm="ssehub"');
        throw new GatewayError(
          'UNAUTHORIZED',
          'Publishing on the public port needs a valid token.',
        );
      }
      return {
        check(topic) {
          if (!auth.mayPublish(principal, topic)) {
            throw new GatewayError(
              'FORBIDDEN',
              `The token does not allow publishing to "${topic}".`,
            );
          }
        },
      };
    },
  };
}

function bearerToken(ctx: Koa.Context): string | undefined {
  const header = ctx.get('authorization');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
