/**
 * The HTML open.weixin.qq.com shows instead of redirecting: outside the WeChat client, or when the
 * authorize URL is wrong (then with the error code, like WeChat's "Oops! Something went wrong" page).
 */
export function openInWeChatPage(): string {
  return page('请在微信客户端打开链接', '<p>请在微信客户端打开链接</p>');
}

export function authorizeErrorPage(code: number | null, reason: string): string {
  return page(
    '微信网页授权错误',
    `<h2>Oops! Something went wrong:(</h2>${code === null ? '' : `<p>错误码：${code}</p>`}<p>${escapeHtml(reason)}</p>`,
  );
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head>
<body>${body}</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
