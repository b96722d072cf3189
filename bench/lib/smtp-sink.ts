// One copy for tests and benches: support/smtp.ts.
export {
  startSmtpSink,
  startSmtpSinkProcess,
  type SinkArrival,
  type SmtpSink,
  type SmtpSinkOptions,
  type SmtpSinkProcess,
} from '../../support/smtp.js';
