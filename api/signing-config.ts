/** What routers that make or read signed links need: the secret and the public address. */
export interface SigningConfig {
  readonly secretKey: string;
  readonly publicUrl: string;
}
