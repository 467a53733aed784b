import { OutboxError } from '../errors/OutboxError.js';

/**
 * Genesys Cloud region → host (as the official JavaScript SDK's `PureCloudRegionHosts`). Written
 * as one string for size: `region host` pairs, a host without a dot standing for `<it>.pure.cloud`.
 */
export const regions: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(
    'us_east_1 mypurecloud.com,eu_west_1 mypurecloud.ie,ap_southeast_2 mypurecloud.com.au,ap_northeast_1 mypurecloud.jp,eu_central_1 mypurecloud.de,us_west_2 usw2,ca_central_1 cac1,ap_northeast_2 apne2,eu_west_2 euw2,ap_south_1 aps1,us_east_2 use2.us-gov-pure.cloud,sa_east_1 sae1,me_central_1 mec1,ap_northeast_3 apne3,eu_central_2 euc2,mx_central_1 mxc1,ap_southeast_1 apse1,eusc_de_east_1 edee1.eusc-pure.cloud'
      .split(',')
      .map((pair) => {
        const [region = '', host = ''] = pair.split(' ');
        return [region, host.includes('.') ? host : `${host}.pure.cloud`];
      }),
  ),
);

/** The endpoints of one Genesys Cloud region. */
export interface ResolvedRegion {
  /** Canonical name, e.g. `eu_west_1`. */
  region: string;
  /** e.g. `mypurecloud.ie`. */
  host: string;
  /** OAuth: `https://login.<host>`. */
  loginUrl: string;
  /** Platform REST: `https://api.<host>`. */
  apiUrl: string;
  /** Guest WebSocket: `wss://webmessaging.<host>`. */
  webSocketUrl: string;
}

/**
 * The endpoints of a region. Accepts `eu_west_1`, `eu-west-1` (any case), a host from the table
 * (`mypurecloud.ie`) or any address under one, as users see it in the browser
 * (`apps.mypurecloud.ie`, `https://login.mypurecloud.ie/…`); anything else throws
 * `OutboxError('unknown-region')`, whose message lists the valid names.
 *
 * @example
 * resolveRegion('eu-west-1').apiUrl // 'https://api.mypurecloud.ie'
 * resolveRegion('apps.mypurecloud.ie').region // 'eu_west_1'
 */
export function resolveRegion(region: string): ResolvedRegion {
  const key = typeof region === 'string' ? region.trim().toLowerCase() : '';
  // A host or URL: its host name, without scheme, port, path or a trailing dot.
  const h =
    key
      .replace(/^[a-z]+:\/\//, '')
      .split(/[/:?#]/)[0]
      ?.replace(/\.$/, '') ?? '';
  const names = Object.keys(regions);
  const name = Object.hasOwn(regions, key.replace(/-/g, '_'))
    ? key.replace(/-/g, '_')
    : names.find((r) => regions[r] === h || h.endsWith(`.${regions[r]}`));
  const host = name === undefined ? undefined : regions[name];
  if (name === undefined || host === undefined) {
    throw new OutboxError(
      'unknown-region',
      `unknown Genesys Cloud region: ${String(region)} (use one of ${names.join(', ')}, or its host)`,
    );
  }
  return {
    region: name,
    host,
    loginUrl: `https://login.${host}`,
    apiUrl: `https://api.${host}`,
    webSocketUrl: `wss://webmessaging.${host}`,
  };
}
