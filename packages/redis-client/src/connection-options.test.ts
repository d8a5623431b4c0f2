import { describe, expect, it } from 'vitest';
import { clusterNodeOptions, requestPathOptions } from './connection-options.js';

describe('request-path connection options', () => {
  it('fail fast and never resend', () => {
    expect(requestPathOptions(2000)).toEqual({
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      autoResendUnfulfilledCommands: false,
      commandTimeout: 2000,
    });
  });

  it('leave the offline queue to the Cluster itself', () => {
    expect(clusterNodeOptions({ ...requestPathOptions(5), connectionName: 'x' })).toEqual({
      maxRetriesPerRequest: 1,
      autoResendUnfulfilledCommands: false,
      commandTimeout: 5,
      connectionName: 'x',
    });
  });
});
