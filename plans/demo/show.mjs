// After `restore apply plans/demo.yaml`: use the restored shop once, as a user would.
const web = `http://127.0.0.1:${process.env.DEMO_WEB_PORT ?? 17804}`;
try {
  const page = await (await fetch(`${web}/`)).text();
  const order = await (await fetch(`${web}/api/orders`, { method: 'POST' })).json();
  console.log(
    `\nThe shop is back: ${web}/ says "${/<h1>(.*)<\/h1>/.exec(page)?.[1]}", and order #${order.id} went through.\n`,
  );
} catch (error) {
  console.log(`\nThe shop did not answer: ${error.message}\n`);
}
