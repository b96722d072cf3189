// One copy for tests and benches: support/smtp.ts.
export { startSmtpServer, type SmtpReply, type SmtpTestServer } from '../../support/smtp.js';
