import { Agent as HttpAgent, request as httpRequest, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { assertPublicHost, publicOnlyLookup } from './webhook-address.js';

export interface WebhookRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  /** '' for none. */
  readonly body: string;
  readonly timeoutMs: number;
  /** When false, a host that is or resolves to a non-public address is refused. */
  readonly allowPrivateNetworks: boolean;
}

/**
 * Connection pools of webhook calls. The checked ones open every connection through
 * `publicOnlyLookup`; a kept-alive connection is reused without a new lookup, so checked and
 * open calls never share a pool, nor do they share one with any other code.
 */
const checked = { keepAlive: true, lookup: publicOnlyLookup() };
const agents = {
  checked: { http: new HttpAgent(checked), https: new HttpsAgent(checked) },
  open: { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) },
};

/**
 * One HTTP call with node:http (not fetch, whose connections cannot be pinned without undici):
 * resolves with the response status once the headers arrive, then drains the body. Redirects
 * are not followed; a 3xx is the status. Unless private networks are allowed, it rejects with
 * `PrivateAddressError` before any connection is made to a host that is not public.
 */
export async function requestWebhook(url: URL, request: WebhookRequest): Promise<number> {
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:')
    throw new Error(
      `${url.protocol} is not supported; webhook URLs start with https:// or http://.`,
    );
  if (!request.allowPrivateNetworks) assertPublicHost(url);
  const pool = request.allowPrivateNetworks ? agents.open : agents.checked;
  const signal = AbortSignal.timeout(request.timeoutMs);
  const options: RequestOptions = {
    method: request.method,
    headers: {
      ...request.headers,
      ...(request.body === '' ? {} : { 'content-length': String(Buffer.byteLength(request.body)) }),
    },
    agent: secure ? pool.https : pool.http,
    signal,
  };
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(url, options, (res) => {
      // The status is all we need; a body still coming when the timeout fires is cut off.
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (error) =>
      reject(signal.aborted ? new Error(`no answer within ${request.timeoutMs / 1000} s`) : error),
    );
    req.end(request.body === '' ? undefined : request.body);
  });
}
