/*
 * The reference portal's only script (served from /portal/static, no inline code, CSP-friendly).
 * Every page works without it; it adds: the login tabs without reload, the captcha refresh, the live
 * QR status by long-poll, 点击刷新, and the 解绑 confirm dialog.
 */
(function () {
  'use strict';
  document.documentElement.classList.add('js');

  // ---- login tabs ---------------------------------------------------------------------------
  var tabs = document.querySelectorAll('.login-tab');
  Array.prototype.forEach.call(tabs, function (tab) {
    tab.addEventListener('click', function (event) {
      event.preventDefault();
      var name = tab.getAttribute('data-tab');
      Array.prototype.forEach.call(tabs, function (other) {
        var active = other === tab;
        other.classList.toggle('active', active);
        other.setAttribute('aria-selected', active ? 'true' : 'false');
      });
      Array.prototype.forEach.call(document.querySelectorAll('.login-panel'), function (panel) {
        panel.hidden = panel.getAttribute('data-panel') !== name;
      });
      if (window.history && history.replaceState) history.replaceState(null, '', '/portal/login?tab=' + name);
    });
  });

  // ---- captcha ------------------------------------------------------------------------------
  function refreshCaptcha() {
    var img = document.querySelector('.captcha-img');
    if (!img) return;
    var src = img.getAttribute('data-src');
    img.src = src + (src.indexOf('?') < 0 ? '?' : '&') + 't=' + Date.now().toString(36);
  }
  document.addEventListener('click', function (event) {
    var target = event.target;
    if (
      target.classList &&
      (target.classList.contains('captcha-img') || target.classList.contains('captcha-refresh'))
    ) {
      event.preventDefault();
      refreshCaptcha();
    }
  });

  // ---- 微信扫码登录: live status --------------------------------------------------------------
  var panel = document.getElementById('qr-panel');
  if (panel) {
    var messages = JSON.parse(panel.getAttribute('data-messages') || '{}');
    var apiBase = panel.getAttribute('data-api') || '';
    var ticket = panel.getAttribute('data-ticket');
    var status = panel.getAttribute('data-status') || 'expired';
    var statusText = document.getElementById('qr-status-text');
    var refreshForm = document.getElementById('qr-refresh-form');
    var loginForm = document.getElementById('qr-login-form');
    var generation = 0;
    var failures = 0;
    var submitted = false;

    var stateOf = function (s) {
      return s === 'pending' || s === 'scanned' || s === 'needs_binding' || s === 'confirmed' ? s : 'expired';
    };
    var show = function (s) {
      var state = stateOf(s);
      panel.setAttribute('data-state', state);
      panel.setAttribute('data-status', s);
      statusText.textContent = messages[state] || '';
    };
    var logIn = function () {
      if (submitted) return;
      submitted = true;
      loginForm.submit();
    };

    var poll = function (gen) {
      if (gen !== generation || !ticket) return;
      var sentAt = Date.now();
      var asked = status;
      var controller = window.AbortController ? new AbortController() : null;
      var timer = controller
        ? setTimeout(function () {
            controller.abort();
          }, 40000)
        : null;
      fetch(
        apiBase + '/api/login/tickets/' + encodeURIComponent(ticket) + '?wait=25&status=' + encodeURIComponent(status),
        {
          cache: 'no-store',
          credentials: 'omit',
          signal: controller ? controller.signal : undefined,
        },
      )
        .then(function (response) {
          if (response.status === 404) return { status: 'expired' };
          if (!response.ok) throw new Error('HTTP ' + response.status);
          return response.json();
        })
        .then(function (view) {
          if (timer) clearTimeout(timer);
          if (gen !== generation) return;
          failures = 0;
          status = view.status;
          show(status);
          if (status === 'confirmed') logIn();
          else if (stateOf(status) !== 'expired') {
            // The service answers at once, unchanged, when it holds too many polls: ask again a little later.
            if (status === asked && Date.now() - sentAt < 1000)
              setTimeout(function () {
                poll(gen);
              }, 2000);
            else poll(gen);
          }
        })
        .catch(function () {
          if (timer) clearTimeout(timer);
          if (gen !== generation) return;
          failures += 1;
          setTimeout(
            function () {
              poll(gen);
            },
            Math.min(15000, 1000 * Math.pow(2, failures)),
          );
        });
    };

    var refresh = function () {
      generation += 1;
      var gen = generation;
      fetch(refreshForm.action, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
        body: new URLSearchParams(new FormData(refreshForm)),
      })
        .then(function (response) {
          if (!response.ok) throw new Error('HTTP ' + response.status);
          return response.json();
        })
        .then(function (created) {
          if (gen !== generation) return;
          ticket = created.ticketId;
          status = created.status;
          var img = document.getElementById('qr-image');
          if (img.tagName !== 'IMG') {
            var replacement = document.createElement('img');
            replacement.id = 'qr-image';
            replacement.className = 'qr-image';
            replacement.alt = '微信扫码登录二维码';
            replacement.width = 200;
            replacement.height = 200;
            img.parentNode.replaceChild(replacement, img);
            img = replacement;
          }
          img.src = created.qrcodeUrl;
          panel.setAttribute('data-ticket', ticket);
          show(status);
          poll(gen);
        })
        .catch(function () {
          if (gen !== generation) return;
          show('expired');
        });
    };

    refreshForm.addEventListener('submit', function (event) {
      event.preventDefault();
      refresh();
    });
    statusText.addEventListener('click', function () {
      if (panel.getAttribute('data-state') === 'expired') refresh();
    });

    if (status === 'confirmed') logIn();
    else if (ticket && stateOf(status) !== 'expired') poll(generation);
  }

  // ---- 微信解绑: the confirm dialog -----------------------------------------------------------
  var dialog = document.getElementById('unbind-dialog');
  if (dialog && typeof dialog.showModal === 'function') {
    var idField = dialog.querySelector('input[name="bindingId"]');
    var detail = dialog.querySelector('.modal-detail');
    Array.prototype.forEach.call(document.querySelectorAll('.unbind-link'), function (link) {
      link.addEventListener('click', function (event) {
        event.preventDefault();
        idField.value = link.getAttribute('data-binding-id');
        detail.querySelector('[data-field="nickname"]').textContent = link.getAttribute('data-nickname');
        detail.querySelector('[data-field="openid"]').textContent = link.getAttribute('data-openid');
        dialog.showModal();
      });
    });
    dialog.querySelector('[data-dialog-cancel]').addEventListener('click', function () {
      idField.value = '';
      dialog.close();
    });
    dialog.addEventListener('close', function () {
      idField.value = '';
    });
  }
})();
