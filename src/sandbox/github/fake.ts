// The stateful upstream behind the GitHub contract server (contract.ts): secret scanning
// alerts, fine-grained PAT grants and the credentials revocation endpoint, held in memory. Its
// answers start from the example values in GitHub's own description, so their shape is GitHub's;
// Prism, in front, checks every answer against the schemas before the connector sees it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

type Json = Record<string, any>;

/** An answer the next matching request gets instead of the fake's own (errors, rate limits, broken shapes). */
export interface InjectedAnswer {
  /** Only requests whose path starts with this (and with this method, when given). */
  pathPrefix: string;
  method?: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** A request the fake answered: what the tests assert about the calls GitHub would have seen. */
export interface SeenRequest {
  method: string;
  path: string;
  authenticated: boolean;
  body: unknown;
}

const DOCS = 'https://docs.github.com/rest';
const notFound = { message: 'Not Found', documentation_url: DOCS, status: '404' };

export class GitHubFake {
  /** Alerts by `owner/repo/number`, as GitHub would answer them (secret included). */
  readonly alerts = new Map<string, Json>();
  /** Approved token grants by organization. */
  readonly grants = new Map<string, Json[]>();
  /** Every credential submitted to `POST /credentials/revoke`, in order. */
  readonly revokedCredentials: string[] = [];
  readonly requests: SeenRequest[] = [];
  readonly injected: InjectedAnswer[] = [];
  private nextGrantId = 1000;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly description: Json,
    private readonly token: string,
  ) {}

  static async start(description: Json, token: string): Promise<GitHubFake> {
    let fake: GitHubFake | undefined;
    // A request it cannot read (bad JSON, a body of the wrong shape) gets a 400, as GitHub's would;
    // it must never take down the process it runs in (the sandbox runs it inside the service).
    const server = createServer((req, res) =>
      fake!.receive(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ message: `Problems parsing JSON: ${(err as Error).message}`, status: '400' }));
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    fake = new GitHubFake(server, `http://127.0.0.1:${port}`, description, token);
    return fake;
  }

  private example(name: string): any {
    return structuredClone(this.description.components.examples[name].value);
  }

  /** A new open alert in `owner/repo` about `secret` (number: the next free one); its number. */
  addAlert({ owner, repo, secret, type = 'github_personal_access_token', number = this.alerts.size + 1 }: NewAlert) {
    const api = `https://api.github.com/repos/${owner}/${repo}/secret-scanning/alerts/${number}`;
    this.alerts.set(`${owner}/${repo}/${number}`, {
      ...this.example('secret-scanning-alert-open'),
      number,
      url: api,
      html_url: `https://github.com/${owner}/${repo}/security/secret-scanning/${number}`,
      locations_url: `${api}/locations`,
      secret_type: type,
      secret_type_display_name: type,
      secret,
      validity: 'active',
    });
    return number;
  }

  alert(owner: string, repo: string, number: number): Json | undefined {
    return this.alerts.get(`${owner}/${repo}/${number}`);
  }

  /** A new approved grant of a fine-grained PAT in `org`; its `pat_id`. */
  addGrant(org: string, tokenName: string): number {
    const [template] = this.example('org-pat-grant-paginated');
    const id = ++this.nextGrantId;
    const grant = { ...template, id, token_id: id + 50_000, token_name: tokenName };
    this.grants.set(org, [...(this.grants.get(org) ?? []), grant]);
    return id;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += chunk;
    const url = new URL(req.url ?? '/', this.url);
    const body = text ? JSON.parse(text) : undefined;
    const authorization = req.headers.authorization;
    this.requests.push({ method: req.method ?? '', path: url.pathname, authenticated: !!authorization, body });
    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      const json = payload === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' };
      res.writeHead(status, { ...json, ...headers }).end(payload === undefined ? undefined : JSON.stringify(payload));
    };
    const injected = this.injected.findIndex(
      (a) => url.pathname.startsWith(a.pathPrefix) && (a.method ?? req.method) === req.method,
    );
    if (injected >= 0) {
      const [answer] = this.injected.splice(injected, 1);
      return send(answer.status, answer.body, answer.headers);
    }
    if (url.pathname === '/credentials/revoke') return this.revokeCredentials(body, authorization, send);
    if (authorization !== `Bearer ${this.token}`)
      return send(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
    const alert = /^\/repos\/([^/]+)\/([^/]+)\/secret-scanning\/alerts\/(\d+)$/.exec(url.pathname);
    if (alert) return this.answerAlert(req.method, alert.slice(1).join('/'), url, body, send);
    const grants = /^\/orgs\/([^/]+)\/personal-access-tokens(?:\/(\d+))?$/.exec(url.pathname);
    if (grants && grants[2] === undefined && req.method === 'GET') return this.listGrants(grants[1], url, send);
    if (grants && req.method === 'POST') return this.revokeGrant(grants[1], Number(grants[2]), send);
    send(404, notFound);
  }

  // GitHub documents that this endpoint answers 403 to any authenticated request.
  private revokeCredentials(body: Json, authorization: string | undefined, send: Send) {
    if (authorization)
      return send(403, { message: 'Any authenticated requests will return a 403', documentation_url: DOCS });
    for (const credential of body.credentials as string[]) {
      this.revokedCredentials.push(credential);
      // GitHub re-checks the validity of leaked tokens; a revoked one turns inactive.
      for (const a of this.alerts.values()) if (a.secret === credential) a.validity = 'inactive';
    }
    send(202, {});
  }

  private answerAlert(method: string | undefined, key: string, url: URL, body: Json, send: Send) {
    const alert = this.alerts.get(key);
    if (!alert) return send(404, notFound);
    if (method === 'PATCH') {
      if (body.state === 'resolved' && !body.resolution)
        return send(422, { message: 'A resolution is required to resolve an alert', documentation_url: DOCS });
      const resolved = this.example('secret-scanning-alert-resolved');
      Object.assign(alert, {
        state: body.state,
        resolution: body.state === 'resolved' ? body.resolution : null,
        resolution_comment: body.resolution_comment ?? null,
        resolved_at: body.state === 'resolved' ? new Date().toISOString().replace(/\.\d+Z$/, 'Z') : null,
        resolved_by: body.state === 'resolved' ? resolved.resolved_by : null,
      });
    }
    const { secret, ...shown } = alert;
    send(200, url.searchParams.get('hide_secret') === 'true' ? shown : { ...shown, secret });
  }

  private listGrants(org: string, url: URL, send: Send) {
    const all = this.grants.get(org);
    if (!all) return send(404, notFound);
    const perPage = Number(url.searchParams.get('per_page') ?? 30);
    const page = Number(url.searchParams.get('page') ?? 1);
    const next = page * perPage < all.length;
    const link = `<${this.url}/orgs/${org}/personal-access-tokens?per_page=${perPage}&page=${page + 1}>; rel="next"`;
    send(200, all.slice((page - 1) * perPage, page * perPage), next ? { link } : {});
  }

  private revokeGrant(org: string, id: number, send: Send) {
    const all = this.grants.get(org) ?? [];
    if (!all.some((g) => g.id === id)) return send(404, notFound);
    this.grants.set(
      org,
      all.filter((g) => g.id !== id),
    );
    send(204);
  }
}

/** What a test says about a leaked secret. */
export interface NewAlert {
  owner: string;
  repo: string;
  secret: string;
  type?: string;
  number?: number;
}

type Send = (status: number, payload?: unknown, headers?: Record<string, string>) => void;
