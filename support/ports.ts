import { once } from 'node:events';
import net from 'node:net';

/** A loopback port free right now (the OS picks it): never a fixed port such as Redis's 6379. */
export async function findFreePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
