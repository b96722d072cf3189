/** Child-process entry of startSmtpSinkProcess: a counting SMTP sink answering count requests over IPC. */
import { startSmtpSink } from './smtp.js';

const sink = await startSmtpSink();
process.on('message', (message: { id: number }) => {
  const cpu = process.cpuUsage();
  process.send!({ id: message.id, count: sink.count, bytes: sink.bytes, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
});
process.on('SIGTERM', () => {
  void sink.stop().finally(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
process.send!({ port: sink.port });
