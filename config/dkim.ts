import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** What Nodemailer needs to sign every outgoing message with DKIM (rsa-sha256). */
export interface DkimKey {
  readonly domainName: string;
  readonly keySelector: string;
  /** PKCS#1 or PKCS#8 PEM text of an RSA private key. */
  readonly privateKey: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const DOMAIN = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
const SELECTOR = /^[A-Za-z0-9]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9_-]{0,62}))*$/;

/**
 * DKIM_DOMAIN, DKIM_SELECTOR and one of DKIM_PRIVATE_KEY (PEM text) or DKIM_PRIVATE_KEY_FILE:
 * all or nothing. The key is read and parsed here, at start-up, because Nodemailer skips the
 * signature without a word when it cannot sign with the key it is given.
 */
export function loadDkim(env: Env, problems: string[]): DkimKey | null {
  const value = (name: string) => env[name]?.trim() || null;
  const domain = value('DKIM_DOMAIN');
  const selector = value('DKIM_SELECTOR');
  const inline = value('DKIM_PRIVATE_KEY');
  const file = value('DKIM_PRIVATE_KEY_FILE');
  if (!domain && !selector && !inline && !file) return null;

  const before = problems.length;
  if (!domain)
    problems.push('DKIM_DOMAIN is required when any DKIM_ variable is set (the d= domain).');
  else if (!DOMAIN.test(domain))
    problems.push(`DKIM_DOMAIN=${domain} is not a domain name such as example.com.`);
  if (!selector)
    problems.push('DKIM_SELECTOR is required when any DKIM_ variable is set (the s= selector).');
  else if (!SELECTOR.test(selector))
    problems.push(`DKIM_SELECTOR=${selector} is not a DNS label such as mail2026.`);
  if (inline && file) problems.push('Set DKIM_PRIVATE_KEY or DKIM_PRIVATE_KEY_FILE, not both.');
  else if (!inline && !file)
    problems.push('DKIM_PRIVATE_KEY (PEM text) or DKIM_PRIVATE_KEY_FILE is required for DKIM.');

  const pem = inline ? unescapeNewlines(inline) : file ? readKeyFile(file, problems) : null;
  const source = inline ? 'DKIM_PRIVATE_KEY' : `DKIM_PRIVATE_KEY_FILE (${file ?? ''})`;
  if (pem !== null) {
    const problem = rsaPrivateKeyProblem(pem);
    if (problem) problems.push(`${source} ${problem}`);
  }
  if (problems.length > before || !domain || !selector || pem === null) return null;
  return { domainName: domain.toLowerCase(), keySelector: selector, privateKey: pem };
}

function readKeyFile(file: string, problems: string[]): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    problems.push(`DKIM_PRIVATE_KEY_FILE=${file} cannot be read (${code}).`);
    return null;
  }
}

/** Container platforms often pass a PEM in one line with literal `\n`. */
function unescapeNewlines(text: string): string {
  return text.includes('\n') ? text : text.replace(/\\n/g, '\n');
}

function rsaPrivateKeyProblem(pem: string): string | null {
  if (!/-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----/.test(pem))
    return 'is not a PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----).';
  if (pem.includes('ENCRYPTED'))
    return 'is encrypted; give the key without a passphrase (protect the file instead).';
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'rsa')
      return `is a ${key.asymmetricKeyType ?? 'non-RSA'} key; DKIM signing here needs an RSA key (rsa-sha256).`;
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 1024)
      return `is a ${bits}-bit RSA key; receivers ignore DKIM keys under 1024 bits (use 2048).`;
    return null;
  } catch {
    return 'is not a readable PEM private key.';
  }
}
