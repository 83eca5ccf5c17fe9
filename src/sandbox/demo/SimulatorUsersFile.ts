import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { SimulatedUser, WeChatSimulator } from '../simulator/WeChatSimulator';

/**
 * The simulator keeps its WeChat users in memory; the demo keeps them in a file too, so a WeChat
 * bound before a restart is still the same WeChat after it.
 */
export class SimulatorUsersFile {
  constructor(private readonly file: string) {}

  restore(simulator: WeChatSimulator): number {
    if (!existsSync(this.file)) return 0;
    const users = JSON.parse(readFileSync(this.file, 'utf8')) as SimulatedUser[];
    for (const user of users) simulator.addUser(user);
    return users.length;
  }

  save(simulator: WeChatSimulator): void {
    writeFileSync(this.file, `${JSON.stringify(simulator.users(), null, 2)}\n`);
  }
}
