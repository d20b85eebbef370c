import { resolveJwtSecret, signToken } from '../src/auth/jwt.ts';
import { ConfigError, loadConfig } from '../src/config.ts';

// `npm run token -- <email> [name]`: prints a bearer token signed with the server's secret
// (JWT_SECRET, or the one kept in DATA_DIR). For embedded and development use.
const [email, name] = process.argv.slice(2);
if (!email || !/^[^@\s]+@[^@\s]+$/.test(email)) {
  process.stderr.write('usage: npm run token -- <email> [name]\n');
  process.exit(1);
}
try {
  const config = loadConfig();
  if (config.jwksUrl)
    throw new ConfigError('Invalid JWKS_URL: tokens come from your identity provider when JWKS_URL is set');
  const secret = resolveJwtSecret(config);
  if (!secret) throw new ConfigError('Invalid JWT_SECRET="": no secret to sign with');
  process.stdout.write(`${await signToken(secret, { email, name })}\n`);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`sharegraph: ${err.message}\n`);
  process.exit(1);
}
