import test from 'ava';
import { loadConfig } from './config.js';

test('the byte path is on by default, off with LAMBDA_BYTE_PATH=off, and a value other than on/off is refused', (t) => {
  t.true(loadConfig({}).bytePath);
  t.false(loadConfig({ LAMBDA_BYTE_PATH: 'off' }).bytePath);
  t.true(loadConfig({ LAMBDA_BYTE_PATH: 'on' }).bytePath);
  t.throws(() => loadConfig({ LAMBDA_BYTE_PATH: 'maybe' }), { message: /LAMBDA_BYTE_PATH must be on or off, got "maybe"/ });
});
