// One worker process of the multi-worker PostgreSQL tests and benchmark: an outbox on
// postgresStore, sending through the simulator's Open Messaging endpoint. Argument: JSON config
// (base64): { lib, url, schema, simUrl, leaseMs, concurrency? }. Prints {"t":"ready"} once open,
// then works until SIGTERM (closes, exits 0) or SIGKILL.
const config = JSON.parse(Buffer.from(process.argv[2], 'base64').toString('utf8'));
const lib = await import(config.lib);
const quiet = { debug() {}, warn() {}, error() {} };
const transport = lib.openMessagingTransport({
  apiUrl: config.simUrl,
  integrationId: 'pg-workers',
  tokenProvider: lib.clientCredentials({
    loginUrl: config.simUrl,
    clientId: 'sim-client',
    clientSecret: 'sim-secret',
  }),
  ...(config.concurrency === undefined ? {} : { concurrency: config.concurrency }),
});
const outbox = await lib.createOutbox({
  transport,
  store: lib.postgresStore({
    connectionString: config.url,
    schema: config.schema,
    leaseMs: config.leaseMs,
  }),
  logger: quiet,
  transcript: false,
});
process.stdout.write('{"t":"ready"}\n');
process.on('SIGTERM', () => {
  void outbox.close().then(() => process.exit(0));
});
