// The demo's "fix": storage comes back empty after the outage, and the API refuses to start
// without its schema. This puts the schema into storage, as a migration would.
const storage = `http://127.0.0.1:${process.env.DEMO_STORAGE_PORT ?? 17801}`;
const response = await fetch(`${storage}/schema`, { method: 'PUT', body: 'v1' });
if (!response.ok) {
  console.error(`migration failed: storage answered ${response.status}`);
  process.exit(1);
}
console.log(`migration applied: ${storage}/schema = v1`);
