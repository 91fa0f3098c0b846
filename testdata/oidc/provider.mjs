// A real OpenID provider for the gateway's tests: npm's oidc-provider (a
// certified implementation) with a configuration read from a JSON file, its
// own minimal sign-in page and no consent screen. internal/oidctest starts
// and drives it; README.md in this folder describes the configuration.
//
//   node provider.mjs CONFIG.json     (or the JSON itself in $HELPDESK_OIDC_CONFIG)
//
// oidc-provider is loaded from $HELPDESK_OIDC_DIR/node_modules (default:
// $HELPDESK_THIRDPARTY_DIR/oidc, else $HOME/.cache/helpdesk-thirdparty/oidc,
// where testdata/thirdparty/install.sh installs it). Standard output carries
// exactly one line, "ready <issuer>", once the provider listens; everything
// else (errors, the library's notices) goes to standard error. SIGTERM or
// SIGINT closes it with exit status 0. Nothing here contacts the network.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// The library logs notices with console.info, which would reach stdout.
console.log = console.info = console.debug = console.error;

const die = (message) => {
  console.error(`provider.mjs: ${message}`);
  process.exit(1);
};

// ---- configuration ----------------------------------------------------------

const config = JSON.parse(process.argv[2]
  ? readFileSync(process.argv[2], 'utf8')
  : process.env.HELPDESK_OIDC_CONFIG ?? '{}');

const moduleDir = process.env.HELPDESK_OIDC_DIR || join(
  process.env.HELPDESK_THIRDPARTY_DIR || join(homedir(), '.cache', 'helpdesk-thirdparty'),
  'oidc',
);
let entry;
try {
  entry = createRequire(join(moduleDir, 'package.json')).resolve('oidc-provider');
} catch {
  die(`oidc-provider is not installed in ${moduleDir} (run testdata/thirdparty/install.sh)`);
}
const { default: Provider, errors } = await import(pathToFileURL(entry).href);

// ---- listening --------------------------------------------------------------
// On an inherited listening socket ({"fd": 3}, how the Go helper passes a
// port it already holds), or on 127.0.0.1:port (0: any free port).

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number.isInteger(config.fd)
    ? { fd: config.fd }
    : { host: '127.0.0.1', port: config.port ?? 0 }, resolve);
}).catch((err) => die(`listen: ${err.message}`));
const issuer = config.issuer || `http://127.0.0.1:${server.address().port}`;

// ---- accounts ---------------------------------------------------------------

const accounts = config.accounts ?? [];
const bySub = new Map(accounts.map((a) => [String(a.sub), a]));

// findByLogin finds an account by its sub, or by its e-mail address.
function findByLogin(login) {
  const wanted = login.trim();
  return bySub.get(wanted)
    ?? accounts.find((a) => a.email && a.email.toLowerCase() === wanted.toLowerCase());
}

// findAccount hands the library every claim of the account; it keeps those
// the granted scopes cover (see claims below).
async function findAccount(ctx, sub) {
  const a = bySub.get(sub);
  if (!a) return undefined;
  return {
    accountId: sub,
    async claims() {
      const claims = { sub };
      for (const name of ['email', 'email_verified', 'name', 'role', 'division_id', 'groups']) {
        if (a[name] !== undefined && a[name] !== null) claims[name] = a[name];
      }
      return claims;
    },
  };
}

// ---- pages --------------------------------------------------------------------
// Plain HTML with nothing to fetch: the library's own pages load a web font.

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(ctx, title, body) {
  ctx.type = 'html';
  ctx.set('cache-control', 'no-store');
  ctx.body = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>
<body><h1>${esc(title)}</h1>
${body}
</body></html>
`;
}

function loginPage(ctx, uid, login, error) {
  page(ctx, 'Sign in', `${error ? `<p id="error" role="alert">${esc(error)}</p>\n` : ''}\
<form method="post" action="/interaction/${esc(uid)}/login">
<label>User (sub or e-mail) <input name="login" value="${esc(login)}" autocomplete="username" autofocus required></label>
<button type="submit" id="sign-in">Sign in</button>
</form>`);
}

// ---- interactions ---------------------------------------------------------------
// GET /interaction/:uid shows the sign-in form when the provider asks for a
// login; any other prompt (consent) is granted at once. POST
// /interaction/:uid/login signs the user in and grants what the client asked.

// grantAll saves a grant of every scope the authorization request asked for.
async function grantAll(details, accountId) {
  const { params, grantId } = details;
  let grant = grantId ? await provider.Grant.find(grantId) : undefined;
  if (!grant || grant.accountId !== accountId) {
    grant = new provider.Grant({ accountId, clientId: params.client_id });
  }
  if (params.scope) grant.addOIDCScope(params.scope);
  return grant.save();
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 64 << 10) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

async function interaction(ctx, next) {
  const route = /^\/interaction\/([\w-]+)(\/login)?$/.exec(ctx.path);
  if (!route) return next();
  const [, uid, login] = route;

  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (err) {
    if (!(err instanceof errors.SessionNotFound)) throw err;
    ctx.status = 400;
    return page(ctx, 'Sign-in failed', `<p id="error" role="alert">${esc(err.error_description ?? err.message)}</p>`);
  }
  if (details.uid !== uid) {
    ctx.status = 400;
    return page(ctx, 'Sign-in failed', '<p id="error" role="alert">interaction does not match its cookie</p>');
  }

  let result;
  if (ctx.method === 'GET' && !login) {
    if (details.prompt.name === 'login') {
      return loginPage(ctx, uid, details.params.login_hint ?? '');
    }
    result = { consent: { grantId: await grantAll(details, details.session.accountId) } };
  } else if (ctx.method === 'POST' && login) {
    const form = await readForm(ctx.req);
    const account = findByLogin(form.get('login') ?? '');
    if (!account) {
      ctx.status = 401;
      return loginPage(ctx, uid, form.get('login') ?? '', `Unknown user: ${form.get('login') ?? ''}`);
    }
    const accountId = String(account.sub);
    result = {
      login: { accountId },
      consent: { grantId: await grantAll(details, accountId) },
    };
  } else {
    ctx.status = 405;
    return undefined;
  }

  const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.status = 303;
  return ctx.redirect(to);
}

// ---- the provider ---------------------------------------------------------------

const ttl = config.ttl ?? {};
const clients = (config.clients ?? []).map((c) => ({
  client_id: c.client_id,
  ...(c.client_secret ? { client_secret: c.client_secret } : {}),
  redirect_uris: c.redirect_uris ?? [],
  post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
  token_endpoint_auth_method: c.token_endpoint_auth_method || 'client_secret_basic',
  grant_types: c.grant_types?.length ? c.grant_types : ['authorization_code'],
  response_types: ['code'],
}));

// Without keys in the configuration, a fresh RSA key: no two instances share
// one (the library's built-in development key is the same everywhere).
const jwks = config.jwks ?? {
  keys: [{ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), use: 'sig' }],
};

const cookie = { httpOnly: true, sameSite: 'lax' }; // Secure only over https, which the library decides

const provider = new Provider(issuer, {
  clients,
  jwks,
  findAccount,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    helpdesk: ['role', 'division_id', 'groups'],
  },
  // The claims of the granted scopes go into the ID token too, not only to userinfo.
  conformIdTokenClaims: false,
  // The authorization code flow only (no implicit or hybrid response types).
  responseTypes: ['code'],
  // PKCE for every client; the library knows S256 only.
  pkce: { required: () => true },
  cookies: { keys: [randomBytes(32).toString('base64url')], long: cookie, short: cookie },
  ttl: {
    AccessToken: ttl.access_token ?? 3600,
    AuthorizationCode: ttl.authorization_code ?? 60,
    ClientCredentials: 600,
    Grant: ttl.grant ?? 14 * 24 * 3600,
    IdToken: ttl.id_token ?? 3600,
    Interaction: ttl.interaction ?? 3600,
    RefreshToken: ttl.refresh_token ?? 14 * 24 * 3600,
    Session: ttl.session ?? 14 * 24 * 3600,
  },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        page(ctx, 'Sign out', `${form}
<button type="submit" id="sign-out" form="op.logoutForm" name="logout" value="yes">Sign out</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        page(ctx, 'Signed out', '<p id="signed-out">You are signed out.</p>');
      },
    },
  },
  async renderError(ctx, out) {
    page(ctx, 'Error', `<pre id="error">${esc(out.error)}: ${esc(out.error_description ?? '')}</pre>`);
  },
});

provider.use(interaction);

// The library checks a client's metadata when the client is first used: do
// it now, so that a bad one stops the start rather than a later request.
for (const { client_id: id } of clients) {
  try {
    if (!await provider.Client.find(id)) die(`client ${id}: not found`);
  } catch (err) {
    die(`client ${id}: ${err.error_description ?? err.message}`);
  }
}

// Errors go to stderr, one line each: the test prints them when it fails.
for (const event of [
  'authorization.error', 'grant.error', 'userinfo.error', 'end_session.error',
  'end_session_confirm.error', 'end_session_success.error', 'revocation.error',
  'pushed_authorization_request.error', 'discovery.error', 'jwks.error',
]) {
  provider.on(event, (ctx, err) => {
    console.error(`${event}: ${err.error ?? err.name}: ${err.error_description ?? err.message}${err.cause ? ` (${err.cause.message ?? err.cause})` : ''}`);
  });
}
provider.on('server_error', (ctx, err) => console.error('server_error:', err));

server.on('request', provider.callback());

// ---- stopping -------------------------------------------------------------------

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The Go helper holds our stdin open: its end means the test process is gone.
if (config.exit_with_stdin) {
  process.stdin.on('end', stop);
  process.stdin.resume();
}

process.stdout.write(`ready ${issuer}\n`);
