// node's oidc-provider (npm, not written here) as the BFF's OpenID provider, for the
// back-channel logout e2e test (tests/tests/e2e/oidc_provider.rs).
//
//   node server.mjs '<json>'   with LATCHKEY_TEST_OIDC_PROVIDER = the node_modules dir
//
// The JSON names the one client (the BFF: confidential, code flow): client_id,
// client_secret, redirect_uri, backchannel_logout_uri, post_logout_redirect_uri.
// Dev interactions are on (any login, any password): the test drives their forms over
// plain HTTP. Prints `oidc-provider listening on http://127.0.0.1:PORT` once bound.
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.LATCHKEY_TEST_OIDC_PROVIDER;
if (!modules) {
  console.error('set LATCHKEY_TEST_OIDC_PROVIDER (.ci/install-oidc-provider prints it)');
  process.exit(2);
}
const { default: Provider } = await import(
  pathToFileURL(path.join(modules, 'oidc-provider', 'lib', 'index.js')).href
);
const client = JSON.parse(process.argv[2]);

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: client.client_id,
      client_secret: client.client_secret,
      redirect_uris: [client.redirect_uri],
      post_logout_redirect_uris: [client.post_logout_redirect_uri],
      backchannel_logout_uri: client.backchannel_logout_uri,
      // The logout token then carries `sid` (and the ID Token too).
      backchannel_logout_session_required: true,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  cookies: { keys: ['latchkey-test-only-cookie-key-0123456789'] },
  claims: { openid: ['sub'], profile: ['preferred_username', 'name'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: id };
      },
    };
  },
  // oidc-provider refuses to fetch special-use addresses (SSRF defence); here the BFF's
  // back-channel URI is on 127.0.0.1 on purpose, so the test lets loopback through.
  fetch(url, options) {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
  features: {
    devInteractions: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    revocation: { enabled: true },
  },
});
provider.on('backchannel.error', (ctx, err) => console.error(`backchannel.error: ${err.message}`));
provider.on('backchannel.success', (ctx, c, accountId, sid) =>
  console.error(`backchannel.success: ${c.clientId} sub=${accountId} sid=${sid}`));
server.on('request', provider.callback());
console.log(`oidc-provider listening on ${issuer}`);
