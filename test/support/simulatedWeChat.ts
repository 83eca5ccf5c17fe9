import type { Clock } from '../../src/clock/Clock';
import { WeChatSimulator } from '../../src/sandbox/simulator/WeChatSimulator';
import { listen } from './testApp';
import { testEnvironment } from './testEnv';

export interface SimulatedWeChat {
  readonly sim: WeChatSimulator;
  /** The simulator's base URL, while the surrounding describe runs. */
  readonly url: string;
  /** WECHAT_API_BASE, WECHAT_OPEN_BASE and WECHAT_MP_BASE pointing at the simulator, for createTestApp. */
  env(): Record<string, string>;
}

/**
 * WeChat's servers for the surrounding describe: the simulator on the test's clock, listening on a
 * loopback port from its first hook to its last, and reset before every test.
 */
export function useSimulatedWeChat(clock: Clock): SimulatedWeChat {
  const env = testEnvironment();
  const sim = new WeChatSimulator({ appId: env.WECHAT_APPID!, appSecret: env.WECHAT_APPSECRET!, clock });
  let server: Awaited<ReturnType<typeof listen>> | null = null;
  before(async () => {
    server = await listen(sim.app);
  });
  after(async () => {
    await server?.close();
    server = null;
  });
  beforeEach(() => sim.reset());
  const url = () => {
    if (!server) throw new Error('the simulator listens only while its describe runs');
    return server.url;
  };
  return {
    sim,
    get url() {
      return url();
    },
    env: () => ({ WECHAT_API_BASE: url(), WECHAT_OPEN_BASE: url(), WECHAT_MP_BASE: url() }),
  };
}
