import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks (standardwebhooks.com) signing for outbound calls: headers `webhook-id`,
 * `webhook-timestamp` (seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of
 * "id.timestamp.body">`. The key is derived from SECRET_KEY and the workspace, so each
 * workspace has its own and one tenant cannot forge another's calls; it is shown to receivers
 * as `whsec_<base64>`, the form the Standard Webhooks libraries take.
 */
export function webhookSigningSecret(secretKey: string, workspaceId: string): string {
  return `whsec_${signingKey(secretKey, workspaceId).toString('base64')}`;
}

export function signWebhook(
  secretKey: string,
  workspaceId: string,
  id: string,
  timestampSec: number,
  body: string,
): Record<string, string> {
  const signature = createHmac('sha256', signingKey(secretKey, workspaceId))
    .update(`${id}.${timestampSec}.${body}`)
    .digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': `v1,${signature}`,
  };
}

function signingKey(secretKey: string, workspaceId: string): Buffer {
  return createHmac('sha256', secretKey)
    .update(`drumbeat outbound webhooks\0${workspaceId}`)
    .digest();
}
