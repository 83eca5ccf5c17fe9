import type { LoginNoticeFact } from '../../config/Config';
import type { MessageTemplate } from './MessageTemplates';

/** What the console's template labels each fact of a login (账号登录提醒). */
const LABELS: Record<LoginNoticeFact, string> = {
  time: '登录时间',
  method: '登录方式',
  portal: '登录平台',
  region: '登录地点',
  browser: '登录设备',
};

/**
 * The template WECHAT_TEMPLATE_LOGIN_NOTICE names, as an operator would have added it to 我的模板:
 * one line per configured fact, under the keyword the field mapping names. The sandbox gives it to
 * the simulator, so the phone shows the notice as WeChat would.
 */
export function loginNoticeTemplate(
  templateId: string,
  fields: Partial<Record<LoginNoticeFact, string>>,
): MessageTemplate {
  const lines = (Object.entries(fields) as [LoginNoticeFact, string][]).map(
    ([fact, keyword]) => `${LABELS[fact]}：{{${keyword}.DATA}}`,
  );
  return {
    template_id: templateId,
    title: '账号登录提醒',
    content: lines.join('\n'),
    example:
      '登录时间：2026年12月8日 10:15\n登录方式：微信扫码\n登录平台：网上税务局\n登录地点：福建 福州 电信\n登录设备：Windows 上的 Chrome',
  };
}
