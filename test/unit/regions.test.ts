import { describe, expect, it } from 'vitest';
import { regions, resolveRegion } from '../../src/internal/regions.js';
import { thrownCode } from '../helpers/errorCode.js';

describe('regions', () => {
  it('is exactly the table of genesys-api.md §1, frozen', () => {
    expect(regions).toEqual({
      us_east_1: 'mypurecloud.com',
      eu_west_1: 'mypurecloud.ie',
      ap_southeast_2: 'mypurecloud.com.au',
      ap_northeast_1: 'mypurecloud.jp',
      eu_central_1: 'mypurecloud.de',
      us_west_2: 'usw2.pure.cloud',
      ca_central_1: 'cac1.pure.cloud',
      ap_northeast_2: 'apne2.pure.cloud',
      eu_west_2: 'euw2.pure.cloud',
      ap_south_1: 'aps1.pure.cloud',
      us_east_2: 'use2.us-gov-pure.cloud',
      sa_east_1: 'sae1.pure.cloud',
      me_central_1: 'mec1.pure.cloud',
      ap_northeast_3: 'apne3.pure.cloud',
      eu_central_2: 'euc2.pure.cloud',
      mx_central_1: 'mxc1.pure.cloud',
      ap_southeast_1: 'apse1.pure.cloud',
      eusc_de_east_1: 'edee1.eusc-pure.cloud',
    });
    expect(Object.isFrozen(regions)).toBe(true);
  });
});

describe('resolveRegion', () => {
  it('gives the login, api and webmessaging endpoints', () => {
    expect(resolveRegion('eu_west_1')).toEqual({
      region: 'eu_west_1',
      host: 'mypurecloud.ie',
      loginUrl: 'https://login.mypurecloud.ie',
      apiUrl: 'https://api.mypurecloud.ie',
      webSocketUrl: 'wss://webmessaging.mypurecloud.ie',
    });
  });

  it('accepts dashes, any case, surrounding spaces and a host from the table', () => {
    for (const r of ['us-east-1', 'US_EAST_1', ' us_east_1 ', 'mypurecloud.com']) {
      expect(resolveRegion(r)).toMatchObject({
        region: 'us_east_1',
        apiUrl: 'https://api.mypurecloud.com',
      });
    }
    expect(resolveRegion('eusc-de-east-1').webSocketUrl).toBe(
      'wss://webmessaging.edee1.eusc-pure.cloud',
    );
  });

  it('throws unknown-region for anything else', () => {
    for (const r of [
      '',
      'mars_1',
      'us_east_9',
      'toString',
      '__proto__',
      'constructor',
      'ireland',
      'notmypurecloud.ie',
      'mypurecloud.ie.evil.example',
    ]) {
      expect(
        thrownCode(() => resolveRegion(r)),
        r,
      ).toBe('unknown-region');
    }
    expect(() => resolveRegion(undefined as unknown as string)).toThrow(
      /unknown Genesys Cloud region/,
    );
  });

  it('unknown-region names the valid regions (issue 12)', () => {
    expect(() => resolveRegion('ireland')).toThrow(
      /ireland .*eu_west_1.*us_east_1|ireland .*us_east_1.*eu_west_1/,
    );
  });

  it('resolves a host or URL that users see in the browser to its region (issue 12)', () => {
    for (const [input, region] of [
      ['apps.mypurecloud.ie', 'eu_west_1'],
      ['mypurecloud.ie', 'eu_west_1'],
      ['https://login.mypurecloud.ie/oauth', 'eu_west_1'],
      ['https://apps.mypurecloud.com.au:443/directory/#/', 'ap_southeast_2'],
      ['api.mypurecloud.com', 'us_east_1'],
      ['APPS.USW2.PURE.CLOUD.', 'us_west_2'],
    ] as const) {
      expect(resolveRegion(input).region, input).toBe(region);
    }
  });
});
