import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock/Clock';
import { createLogger } from '../../src/logging/createLogger';
import { SmsOutbox } from '../../src/sandbox/SmsOutbox';
import { ConsoleSmsSender } from '../../src/sms/ConsoleSmsSender';

const PHONE = '13812345678';
const CODE = '904417';

describe('sms/ConsoleSmsSender', () => {
  let lines: string[];
  let clock: ManualClock;
  const logger = () =>
    createLogger('info', {
      write: (line: string) => {
        lines.push(line);
      },
    });
  const message = {
    kind: 'code' as const,
    phone: PHONE,
    code: CODE,
    purpose: 'bind' as const,
    text: `【福建税务】您的验证码为${CODE}`,
  };

  beforeEach(() => {
    lines = [];
    clock = new ManualClock(Date.UTC(2031, 4, 1, 8, 30));
  });

  it('logs one line with the phone masked and without the code', async () => {
    await new ConsoleSmsSender({ logger: logger(), clock }).send(message);
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.equal(JSON.parse(line).phone, '138****5678');
    assert.ok(!line.includes(PHONE), 'full phone logged');
    assert.ok(!line.includes(CODE), 'code logged');
  });

  it('puts the message, code included, in the sandbox outbox when given one', async () => {
    const outbox = new SmsOutbox();
    await new ConsoleSmsSender({ logger: logger(), clock, outbox }).send(message);
    assert.deepEqual(outbox.forPhone(PHONE), [
      { phone: PHONE, code: CODE, text: message.text, sentAt: new Date(Date.UTC(2031, 4, 1, 8, 30)) },
    ]);
    assert.ok(!lines.join('').includes(CODE));
  });

  it('puts a notice without a code in the outbox with code null', async () => {
    const outbox = new SmsOutbox();
    const notice = {
      kind: 'account_exists' as const,
      phone: PHONE,
      purpose: 'register' as const,
      text: '该手机号码已注册',
    };
    await new ConsoleSmsSender({ logger: logger(), clock }).send(notice);
    await new ConsoleSmsSender({ logger: logger(), clock, outbox }).send(notice);
    assert.deepEqual(outbox.forPhone(PHONE), [
      { phone: PHONE, code: null, text: notice.text, sentAt: new Date(Date.UTC(2031, 4, 1, 8, 30)) },
    ]);
  });
});
