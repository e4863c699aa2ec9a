// A local OpenID Connect provider for the browser test of OAuth login: the real
// oidc-provider package, its development login and consent pages, one confidential client.
// Usage: node provider.mjs PORT REDIRECT_URI
import Provider from "oidc-provider";

const [port, redirectUri] = process.argv.slice(2);
const issuer = `http://localhost:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "travelhub",
      client_secret: "travelhub-test-secret",
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: "client_secret_post",
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  scopes: ["openid", "email", "profile"],
  // The development login page accepts any login: the login is the email address.
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: true, name: id.split("@")[0] };
      },
    };
  },
  pkce: { required: () => false },
  features: { devInteractions: { enabled: true }, userinfo: { enabled: true } },
});
provider.proxy = false;
provider.listen(Number(port), () => console.log(`oidc-provider ready at ${issuer}`));
