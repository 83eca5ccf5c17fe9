/*
 * The sandbox phone (served from /sandbox/phone/static; no inline code, CSP-friendly). It only
 * draws: every push is sent by the server's /sandbox/phone/api, which answers with the push sent
 * and its reply. The chat and the SMS inbox are polled, because 客服 messages and SMS arrive on
 * their own (after 绑定成功 in the in-app browser, for instance).
 */
(function () {
  'use strict';

  var body = document.body;
  var API = body.getAttribute('data-api');
  var SIMULATOR = body.getAttribute('data-simulator');
  var CHAT_POLL_MS = 1500;
  var SMS_POLL_MS = 2500;
  var TIME_GAP_MS = 5 * 60 * 1000;
  var PHONE_PATTERN = /^1[3-9]\d{9}$/;
  var AVATAR_COLOURS = ['#5b8ff9', '#f6903d', '#9270ca', '#e8684a', '#269a99', '#ff99c3', '#6dc8ec', '#d4a017'];

  var state = {
    openid: null,
    users: [],
    following: false,
    messages: [],
    renderedChat: '',
    stack: [],
    phone: null,
    smsCount: null,
    smsRendered: '',
    qrCodes: [],
    selectedTicket: null,
    browserDepth: 0,
    browserGoingBack: false,
  };

  function $(id) {
    return document.getElementById(id);
  }

  // ---- talking to the server ------------------------------------------------------------------

  function api(method, path, payload) {
    var init = { method: method, credentials: 'same-origin', headers: { accept: 'application/json' } };
    if (payload !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(payload);
    }
    return fetch(API + path, init).then(function (res) {
      return res
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          if (!res.ok) throw new Error((data.error && data.error.message) || '请求失败（HTTP ' + res.status + '）');
          return data;
        });
    });
  }

  function complain(error) {
    toast(error.message || String(error));
  }

  var toastTimer = null;
  function toast(text) {
    var node = $('toast');
    node.textContent = text;
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () {
      node.hidden = true;
    }, 3000);
  }

  // ---- screens ----------------------------------------------------------------------------------

  function show(name, options) {
    var replace = options && options.replace;
    var reset = options && options.reset;
    if (reset) state.stack = [];
    else if (replace) state.stack.pop();
    if (state.stack[state.stack.length - 1] !== name) state.stack.push(name);
    render();
  }

  function back() {
    var leaving = state.stack.pop();
    if (leaving === 'browser') unloadBrowser();
    if (state.stack.length === 0) state.stack.push(state.openid ? 'home' : 'users');
    render();
  }

  function current() {
    return state.stack[state.stack.length - 1];
  }

  function render() {
    var name = current();
    Array.prototype.forEach.call(document.querySelectorAll('[data-screen]'), function (screen) {
      screen.hidden = screen.getAttribute('data-screen') !== name;
    });
    closePopups();
    // 扫一扫 is a dark camera view: the status bar turns white over it, as on a phone.
    document.querySelector('.phone-screen').classList.toggle('status-light', name === 'scan');
    $('users-back').hidden = !state.openid;
    if (name === 'chat') renderChatFooter();
    if (name === 'chat') scrollChatToEnd();
    if (name === 'profile') renderProfile();
    if (name === 'me') renderMe();
    if (name === 'sms') {
      $('sms-badge').hidden = true;
      $('sms-banner').hidden = true;
    }
  }

  // ---- users -------------------------------------------------------------------------------------

  function currentUser() {
    for (var i = 0; i < state.users.length; i++) if (state.users[i].openid === state.openid) return state.users[i];
    return null;
  }

  function avatarFor(node, nickname) {
    var text = nickname || '?';
    var sum = 0;
    for (var i = 0; i < text.length; i++) sum += text.charCodeAt(i);
    node.textContent = Array.from(text)[0];
    node.style.backgroundColor = AVATAR_COLOURS[sum % AVATAR_COLOURS.length];
  }

  function loadUsers() {
    return api('GET', '/users').then(function (data) {
      state.users = data.users;
      if (state.openid === null) state.openid = data.currentOpenid;
      renderUsers();
      return data;
    });
  }

  function renderUsers() {
    var list = $('user-list');
    list.textContent = '';
    state.users.forEach(function (user) {
      var item = document.createElement('li');
      var row = document.createElement('button');
      row.type = 'button';
      row.className = 'cell user-row' + (user.openid === state.openid ? ' user-row-current' : '');
      row.setAttribute('data-openid', user.openid);
      var avatar = document.createElement('span');
      avatar.className = 'avatar avatar-user';
      avatarFor(avatar, user.nickname);
      var main = document.createElement('span');
      main.className = 'user-row-main';
      var name = document.createElement('span');
      name.className = 'user-row-name';
      name.textContent = user.nickname;
      var openid = document.createElement('span');
      openid.className = 'user-row-openid';
      openid.textContent = user.openid;
      main.append(name, openid);
      var tags = document.createElement('span');
      tags.className = 'user-row-tags';
      if (user.following) tags.append(tag('已关注', 'tag-green'));
      if (user.openid === state.openid) tags.append(tag('当前', 'tag-grey'));
      row.append(avatar, main, tags);
      item.append(row);
      list.append(item);
    });
    $('user-list-empty').hidden = state.users.length > 0;
  }

  function tag(text, className) {
    var node = document.createElement('span');
    node.className = 'tag ' + className;
    node.textContent = text;
    return node;
  }

  function selectUser(openid, created) {
    var request = created ? Promise.resolve(created) : api('PUT', '/current-user', { openid: openid });
    return request
      .then(function () {
        state.openid = openid;
        state.messages = [];
        state.renderedChat = '';
        state.phone = localStorage.getItem(phoneKey()) || null;
        state.smsCount = null;
        state.smsRendered = '';
        $('sms-phone').value = state.phone || '';
        $('sms-body').textContent = '';
        return Promise.all([loadUsers(), refreshChat(), refreshSms()]);
      })
      .then(function () {
        state.stack = ['home'];
        show('chat');
      });
  }

  function createUser(nickname) {
    return api('POST', '/users', { nickname: nickname }).then(function (data) {
      $('new-user-nickname').value = '';
      return selectUser(data.user.openid, data.user);
    });
  }

  function renderMe() {
    var user = currentUser();
    if (!user) return;
    avatarFor($('me-avatar'), user.nickname);
    $('me-nickname').textContent = user.nickname;
    $('me-openid').textContent = user.openid;
    $('me-phone').textContent = state.phone || '未填写本机号码';
  }

  // ---- the chat ----------------------------------------------------------------------------------

  function refreshChat() {
    if (!state.openid) return Promise.resolve();
    var openid = state.openid;
    return api('GET', '/chat?openid=' + encodeURIComponent(openid)).then(function (data) {
      if (openid !== state.openid) return;
      state.messages = data.messages;
      state.following = data.user.following;
      renderChat();
      renderChatFooter();
      renderPreview();
      if (current() === 'profile') renderProfile();
    });
  }

  function renderChat() {
    var key = state.messages
      .map(function (m) {
        return m.id;
      })
      .join(',');
    if (key === state.renderedChat) return;
    state.renderedChat = key;
    var chat = $('chat-body');
    chat.textContent = '';
    var lastAt = 0;
    var user = currentUser();
    state.messages.forEach(function (message) {
      var at = Date.parse(message.at);
      if (at - lastAt > TIME_GAP_MS) chat.append(timeLabel(at));
      lastAt = at;
      chat.append(messageNode(message, user));
    });
    if (state.messages.length === 0) {
      var hint = document.createElement('p');
      hint.className = 'chat-note';
      hint.append(span('', state.following ? '发条消息，或点下方菜单' : '关注公众号后，就能在这里收到它的消息'));
      chat.append(hint);
    }
    scrollChatToEnd();
  }

  function scrollChatToEnd() {
    var chat = $('chat-body');
    chat.scrollTop = chat.scrollHeight;
  }

  function timeLabel(at) {
    var node = document.createElement('p');
    node.className = 'chat-time';
    node.textContent = formatTime(at);
    return node;
  }

  function formatTime(at) {
    var date = new Date(at);
    var time = pad(date.getHours()) + ':' + pad(date.getMinutes());
    return date.toDateString() === new Date().toDateString()
      ? time
      : date.getMonth() + 1 + '月' + date.getDate() + '日 ' + time;
  }

  function pad(n) {
    return (n < 10 ? '0' : '') + n;
  }

  function span(className, text) {
    var node = document.createElement('span');
    if (className) node.className = className;
    node.textContent = text;
    return node;
  }

  function messageNode(message, user) {
    if (message.from === 'system') {
      var note = document.createElement('p');
      note.className = 'chat-note';
      note.append(
        span(
          '',
          message.segments
            .map(function (s) {
              return s.text;
            })
            .join(''),
        ),
      );
      return note;
    }
    var row = document.createElement('div');
    row.className = 'msg msg-' + message.from;
    row.setAttribute('data-source', message.source);
    var avatar = document.createElement('span');
    if (message.from === 'account') {
      avatar.className = 'avatar avatar-account avatar-chat';
      avatar.textContent = '税';
    } else {
      avatar.className = 'avatar avatar-user avatar-chat';
      avatarFor(avatar, user ? user.nickname : '我');
    }
    row.append(avatar, message.card ? cardNode(message.card, message.source) : bubbleNode(message.segments));
    return row;
  }

  function bubbleNode(segments) {
    var bubble = document.createElement('div');
    bubble.className = 'bubble';
    segments.forEach(function (segment) {
      if (segment.href) {
        var link = document.createElement('a');
        link.href = segment.href;
        link.className = 'msg-link';
        link.textContent = segment.text;
        bubble.append(link);
      } else {
        bubble.append(document.createTextNode(segment.text));
      }
    });
    return bubble;
  }

  function cardNode(card, source) {
    var node = document.createElement(card.url ? 'a' : 'div');
    node.className = 'card' + (source === 'template' ? ' card-template' : '');
    if (card.url) node.href = card.url;
    node.append(span('card-title', card.title));
    if (card.fields && card.fields.length) {
      // A template message as WeChat lists it: each keyword's label, then its value.
      var fields = document.createElement('dl');
      fields.className = 'card-fields';
      card.fields.forEach(function (field) {
        var label = document.createElement('dt');
        label.textContent = field.label;
        var value = document.createElement('dd');
        value.textContent = field.value;
        fields.append(label, value);
      });
      node.append(fields);
    }
    if (card.description) node.append(span('card-desc', card.description));
    if (card.url) node.append(span('card-more', source === 'template' ? '详情' : '阅读全文'));
    return node;
  }

  function renderPreview() {
    var last = state.messages[state.messages.length - 1];
    var preview = '';
    if (last)
      preview = last.card
        ? '[链接] ' + last.card.title
        : last.segments
            .map(function (s) {
              return s.text;
            })
            .join('');
    $('chat-preview').textContent = preview.replace(/\s+/g, ' ');
    $('chat-preview-time').textContent = last ? formatTime(Date.parse(last.at)) : '';
  }

  function renderChatFooter() {
    $('follow-bar').hidden = state.following;
    $('chat-footer').hidden = !state.following;
  }

  function showKeyboard(keyboard) {
    $('menu-bar').hidden = keyboard;
    $('input-bar').hidden = !keyboard;
    closePopups();
    if (keyboard) $('message-input').focus();
  }

  function sendText(text) {
    return api('POST', '/messages', { openid: state.openid, text: text }).then(function () {
      $('message-input').value = '';
      return refreshChat();
    });
  }

  function follow() {
    return api('POST', '/follow', { openid: state.openid })
      .then(afterFollowChange)
      .then(function () {
        show('chat', { replace: current() === 'profile' });
      });
  }

  function unfollow() {
    return api('POST', '/unfollow', { openid: state.openid })
      .then(afterFollowChange)
      .then(function () {
        toast('已不再关注');
      });
  }

  function afterFollowChange() {
    return Promise.all([loadUsers(), refreshChat()]);
  }

  function renderProfile() {
    $('profile-follow').hidden = state.following;
    $('profile-enter').hidden = !state.following;
    $('profile-unfollow').hidden = !state.following;
    $('profile-state').textContent = state.following ? '已关注' : '未关注';
  }

  // ---- the custom menu ---------------------------------------------------------------------------

  function closePopups() {
    Array.prototype.forEach.call(document.querySelectorAll('.sub-menu'), function (menu) {
      menu.hidden = true;
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-menu-toggle]'), function (button) {
      button.setAttribute('aria-expanded', 'false');
    });
    $('plus-menu').hidden = true;
  }

  function toggleSubMenu(button) {
    var index = button.getAttribute('data-menu-toggle');
    var menu = document.querySelector('[data-sub-menu="' + index + '"]');
    var open = menu.hidden;
    closePopups();
    menu.hidden = !open;
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  function tapMenuButton(button) {
    closePopups();
    var type = button.getAttribute('data-type');
    if (type === 'click') {
      return api('POST', '/menu-clicks', { openid: state.openid, key: button.getAttribute('data-key') }).then(
        refreshChat,
      );
    }
    if (type === 'view') {
      var url = button.getAttribute('data-url');
      // WeChat opens the page at once and tells the account in parallel.
      openBrowser(url);
      return api('POST', '/menu-views', { openid: state.openid, url: url }).then(refreshChat);
    }
    toast('模拟器不支持“' + type + '”类型的菜单');
    return Promise.resolve();
  }

  // ---- the in-app browser ------------------------------------------------------------------------

  function openBrowser(url) {
    state.browserDepth = 0;
    state.browserGoingBack = false;
    $('browser-title').textContent = '加载中…';
    $('browser-external').href = url;
    $('browser-frame').src = url;
    show('browser');
  }

  function unloadBrowser() {
    $('browser-frame').src = 'about:blank';
    state.browserDepth = 0;
    refreshChat().catch(complain);
  }

  function onBrowserLoad() {
    var frame = $('browser-frame');
    if (current() !== 'browser') return;
    if (state.browserGoingBack) {
      state.browserGoingBack = false;
      state.browserDepth = Math.max(1, state.browserDepth - 1);
    } else {
      state.browserDepth += 1;
    }
    var title = '';
    try {
      title = frame.contentDocument.title;
      $('browser-external').href = frame.contentWindow.location.href;
    } catch (error) {
      // Another origin: its title and history are not ours to read.
      title = '';
    }
    if (!title) {
      try {
        title = new URL(frame.src).host;
      } catch (error) {
        title = '';
      }
    }
    $('browser-title').textContent = title;
  }

  function browserBack() {
    if (state.browserDepth <= 1) return back();
    try {
      state.browserGoingBack = true;
      $('browser-frame').contentWindow.history.back();
    } catch (error) {
      state.browserGoingBack = false;
      back();
    }
  }

  // ---- 扫一扫 -------------------------------------------------------------------------------------

  function openScan() {
    if (!state.openid) return show('users');
    show('scan');
    // Like WeChat's camera, each 扫一扫 starts on the newest code, not the one picked last time.
    state.selectedTicket = null;
    return loadQrCodes();
  }

  function loadQrCodes() {
    return api('GET', '/qr-codes').then(function (data) {
      state.qrCodes = data.qrCodes;
      var still = state.qrCodes.some(function (code) {
        return code.ticket === state.selectedTicket;
      });
      if (!still) state.selectedTicket = state.qrCodes.length > 0 ? state.qrCodes[0].ticket : null;
      renderQrCodes();
    });
  }

  function renderQrCodes() {
    var list = $('scan-codes');
    list.textContent = '';
    var now = Date.now();
    state.qrCodes.forEach(function (code, index) {
      var item = document.createElement('li');
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'scan-code' + (code.ticket === state.selectedTicket ? ' scan-code-selected' : '');
      button.setAttribute('data-ticket', code.ticket);
      var label = code.permanent ? '永久二维码' : index === 0 ? '最新的登录二维码' : '登录二维码';
      var left = code.expiresAt ? Math.max(0, Math.round((Date.parse(code.expiresAt) - now) / 1000)) : null;
      button.append(
        span('scan-code-name', label),
        span('scan-code-meta', left === null ? code.scene : '剩余 ' + Math.floor(left / 60) + ':' + pad(left % 60)),
      );
      item.append(button);
      list.append(item);
    });
    var image = $('scan-image');
    if (state.selectedTicket) {
      image.src = SIMULATOR + '/cgi-bin/showqrcode?ticket=' + encodeURIComponent(state.selectedTicket);
      image.hidden = false;
      $('scan-hint').textContent = state.qrCodes.length > 1 ? '选择要扫描的二维码' : '对准电脑网页上的二维码';
    } else {
      image.hidden = true;
      image.removeAttribute('src');
      $('scan-hint').textContent = '没有可扫描的二维码：请先在电脑上打开福建省网上税务局“微信扫码登录”';
    }
    $('scan-button').disabled = !state.selectedTicket;
  }

  function scanSelected() {
    var ticket = state.selectedTicket;
    if (!ticket) return Promise.resolve();
    $('scan-button').disabled = true;
    return api('POST', '/scans', { openid: state.openid, ticket: ticket }).then(
      function () {
        // WeChat drops the user into the account's chat, where the reply arrives.
        state.stack = ['home'];
        show('chat');
        return Promise.all([loadUsers(), refreshChat()]);
      },
      function (error) {
        $('scan-button').disabled = false;
        loadQrCodes().catch(function () {
          return undefined;
        });
        throw error;
      },
    );
  }

  // ---- 短信 ---------------------------------------------------------------------------------------

  function phoneKey() {
    return 'wxphone:phone:' + state.openid;
  }

  function refreshSms() {
    if (!state.phone) return Promise.resolve();
    var phone = state.phone;
    return api('GET', '/sms?phone=' + encodeURIComponent(phone)).then(function (data) {
      if (phone !== state.phone) return;
      var messages = data.messages;
      if (state.smsCount !== null && messages.length > state.smsCount && current() !== 'sms') {
        var newest = messages[messages.length - 1];
        $('sms-banner-text').textContent = newest.text;
        $('sms-banner').hidden = false;
        $('sms-badge').textContent = String(messages.length - state.smsCount);
        $('sms-badge').hidden = false;
        setTimeout(function () {
          $('sms-banner').hidden = true;
        }, 6000);
      }
      state.smsCount = messages.length;
      if (messages.length > 0) $('sms-preview').textContent = messages[messages.length - 1].text;
      renderSms(messages);
    });
  }

  function renderSms(messages) {
    var key = state.phone + ':' + messages.length;
    if (key === state.smsRendered) return;
    state.smsRendered = key;
    var list = $('sms-body');
    list.textContent = '';
    if (messages.length === 0) {
      list.append(span('sms-empty', '本机 ' + state.phone + ' 还没有收到短信'));
      return;
    }
    var lastAt = 0;
    messages.forEach(function (sms) {
      var at = Date.parse(sms.sentAt);
      if (at - lastAt > TIME_GAP_MS) list.append(timeLabel(at));
      lastAt = at;
      var bubble = document.createElement('div');
      bubble.className = 'sms';
      bubble.textContent = sms.text;
      list.append(bubble);
    });
    list.scrollTop = list.scrollHeight;
  }

  function savePhone(phone) {
    if (!PHONE_PATTERN.test(phone)) return toast('请输入 11 位手机号码');
    state.phone = phone;
    state.smsCount = null;
    state.smsRendered = '';
    localStorage.setItem(phoneKey(), phone);
    renderMe();
    refreshSms().catch(complain);
  }

  // ---- wiring ------------------------------------------------------------------------------------

  function guarded(promise) {
    if (promise && typeof promise.catch === 'function') promise.catch(complain);
  }

  var ACTIONS = {
    'open-chat': function () {
      show('chat');
    },
    'open-profile': function () {
      show('profile');
    },
    'open-sms': function () {
      show('sms');
      return refreshSms();
    },
    'switch-user': function () {
      return loadUsers().then(function () {
        show('users');
      });
    },
    'tab-home': function () {
      show('home', { reset: true });
    },
    'tab-me': function () {
      show('me', { reset: true });
    },
    scan: openScan,
    'do-scan': scanSelected,
    'refresh-codes': loadQrCodes,
    follow: follow,
    unfollow: unfollow,
    'show-keyboard': function () {
      showKeyboard(true);
    },
    'show-menu': function () {
      showKeyboard(false);
    },
    'close-browser': back,
    'browser-back': browserBack,
  };

  document.addEventListener('click', function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var link = target.closest('#chat-body a[href]');
    if (link) {
      event.preventDefault();
      return openBrowser(link.href);
    }
    var goBack = target.closest('[data-go-back]');
    if (goBack) return back();
    var action = target.closest('[data-action]');
    if (action && ACTIONS[action.getAttribute('data-action')]) {
      event.preventDefault();
      return guarded(ACTIONS[action.getAttribute('data-action')]());
    }
    var toggle = target.closest('[data-menu-toggle]');
    if (toggle) return toggleSubMenu(toggle);
    var menuButton = target.closest('[data-type]');
    if (menuButton) return guarded(tapMenuButton(menuButton));
    var userRow = target.closest('[data-openid]');
    if (userRow) return guarded(selectUser(userRow.getAttribute('data-openid')));
    var code = target.closest('[data-ticket]');
    if (code) {
      state.selectedTicket = code.getAttribute('data-ticket');
      return renderQrCodes();
    }
    if (target.closest('#plus-button')) {
      $('plus-menu').hidden = !$('plus-menu').hidden;
      return;
    }
    if (!target.closest('.sub-menu, .plus-menu')) closePopups();
  });

  $('new-user-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var nickname = $('new-user-nickname').value.trim();
    if (!nickname) return toast('请填写昵称');
    guarded(createUser(nickname));
  });

  $('input-bar').addEventListener('submit', function (event) {
    event.preventDefault();
    var text = $('message-input').value;
    if (!text.trim()) return;
    guarded(sendText(text));
  });

  $('sms-phone-form').addEventListener('submit', function (event) {
    event.preventDefault();
    savePhone($('sms-phone').value.trim());
  });

  $('browser-frame').addEventListener('load', onBrowserLoad);

  function tickClock() {
    var now = new Date();
    $('status-time').textContent = now.getHours() + ':' + pad(now.getMinutes());
  }

  function start() {
    if (location.origin !== body.getAttribute('data-public-origin')) $('origin-warning').hidden = false;
    tickClock();
    setInterval(tickClock, 30 * 1000);
    loadUsers()
      .then(function () {
        if (!state.openid) return show('users', { reset: true });
        return selectUser(state.openid);
      })
      .catch(function (error) {
        show('users', { reset: true });
        complain(error);
      });
    setInterval(function () {
      if (state.openid && !document.hidden)
        refreshChat().catch(function () {
          return undefined;
        });
    }, CHAT_POLL_MS);
    setInterval(function () {
      if (state.phone && !document.hidden)
        refreshSms().catch(function () {
          return undefined;
        });
    }, SMS_POLL_MS);
  }

  start();
})();
