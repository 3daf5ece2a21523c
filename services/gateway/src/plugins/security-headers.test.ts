import { describe, expect, it } from 'vitest';
import { helmetHeaders } from './security-headers.js';

describe('helmetHeaders', () => {
  it('reads the headers Helmet sets, without a content security policy when it is off', () => {
    const headers = helmetHeaders({ contentSecurityPolicy: false });
    expect(headers).toMatchObject({
      'strict-transport-security': expect.stringContaining('max-age='),
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'referrer-policy': 'no-referrer',
    });
    expect(headers).not.toHaveProperty('content-security-policy');
    expect(Object.isFrozen(headers)).toBe(true);
  });

  it('follows the options: a header turned off is absent', () => {
    expect(helmetHeaders({ contentSecurityPolicy: false, xFrameOptions: false })).not.toHaveProperty(
      'x-frame-options',
    );
    expect(helmetHeaders({})).toHaveProperty('content-security-policy');
  });
});
