import { gb11643CheckCharacter } from '../../registration/gb11643';
import { DEMO_ACCOUNT } from '../demo/seedDemoAccount';
import type { SandboxPerson } from './FaceidSandbox';

/** The taxpayer README's 实名注册 walk-through registers (step 7). */
export const DEMO_REGISTRANT: SandboxPerson = {
  realName: '王新税',
  idNumber: `35010219880815351${gb11643CheckCharacter('35010219880815351')}`,
  phone: '13959001234',
};

/** Whom the sandbox's 实名核身 records know: the demo's taxpayers verify, anyone else has no record. */
export const SANDBOX_PEOPLE: readonly SandboxPerson[] = [
  { realName: DEMO_ACCOUNT.realName, idNumber: DEMO_ACCOUNT.idNumber, phone: DEMO_ACCOUNT.phone },
  DEMO_REGISTRANT,
];
