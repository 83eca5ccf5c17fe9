/** What the WeChat client would not let the user do: message a non-follower chat, follow twice… */
export type PhoneRule = 'not_following' | 'already_following';

const MESSAGES: Record<PhoneRule, string> = {
  not_following: '请先关注公众号“福建税务”',
  already_following: '已关注公众号“福建税务”',
};

/** A tap the WeChat client itself refuses, so no push is sent. */
export class PhoneRuleError extends Error {
  constructor(readonly rule: PhoneRule) {
    super(MESSAGES[rule]);
    this.name = 'PhoneRuleError';
  }
}
