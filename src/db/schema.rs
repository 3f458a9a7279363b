// The schema both backends share. Written by hand: the two migration folders create the same
// tables, and only portable column types appear here.

diesel::table! {
    providers (id) {
        id -> Integer,
        name -> Text,
        title -> Text,
        specialty -> Text,
        bio -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    slots (id) {
        id -> Integer,
        provider_id -> Integer,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        status -> Text,
        visit_type -> Nullable<Text>,
        created_at -> Timestamp,
        location_id -> Nullable<Integer>,
        hold_id -> Nullable<Integer>,
        held_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    holds (id) {
        id -> Integer,
        token_hash -> Text,
        slot_id -> Integer,
        provider_id -> Integer,
        visit_type_id -> Nullable<Integer>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        released_at -> Nullable<Timestamp>,
        booking_id -> Nullable<Integer>,
        client_key -> Nullable<Text>,
        swept_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    bookings (id) {
        id -> Integer,
        reference -> Text,
        slot_id -> Integer,
        patient_name -> Text,
        patient_email -> Text,
        patient_phone -> Nullable<Text>,
        patient_date_of_birth -> Nullable<Date>,
        reason -> Nullable<Text>,
        source -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        concern_area -> Nullable<Text>,
        concern_onset -> Nullable<Text>,
        red_flags -> Nullable<Text>,
        needs_review -> Bool,
        visit_type_id -> Nullable<Integer>,
        ends_at -> Nullable<Timestamp>,
        series_id -> Nullable<Integer>,
        cancel_reason -> Nullable<Text>,
        sms_consent -> Bool,
        patient_id -> Nullable<Integer>,
        cancelled_at -> Nullable<Timestamp>,
        language -> Text,
    }
}
diesel::table! {
    patients (id) {
        id -> Integer,
        name -> Text,
        email -> Text,
        email_key -> Text,
        phone -> Nullable<Text>,
        date_of_birth -> Nullable<Date>,
        duplicate_of -> Nullable<Integer>,
        merged_into -> Nullable<Integer>,
        erased_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
diesel::table! {
    patient_search_terms (term, patient_id) {
        term -> Text,
        patient_id -> Integer,
    }
}
diesel::table! {
    notes (id) {
        id -> Integer,
        patient_id -> Integer,
        booking_id -> Nullable<Integer>,
        body -> Text,
        author_user_id -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    series (id) {
        id -> Integer,
        reference -> Text,
        visit_type_id -> Integer,
        provider_id -> Integer,
        visit_count -> Integer,
        interval_weeks -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    locations (id) {
        id -> Integer,
        name -> Text,
        address -> Text,
        phone -> Text,
        timezone -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    time_off (id) {
        id -> Integer,
        provider_id -> Integer,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        reason -> Text,
        created_by -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    time_off_slots (time_off_id, slot_id) {
        time_off_id -> Integer,
        slot_id -> Integer,
    }
}

diesel::table! {
    visit_types (id) {
        id -> Integer,
        name -> Text,
        description -> Text,
        duration_minutes -> Integer,
        buffer_minutes -> Integer,
        new_patients_online -> Bool,
        active -> Bool,
        min_notice_minutes -> Nullable<Integer>,
        horizon_days -> Nullable<Integer>,
        cancel_cutoff_hours -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        series_online -> Bool,
    }
}

diesel::table! {
    visit_type_providers (visit_type_id, provider_id) {
        visit_type_id -> Integer,
        provider_id -> Integer,
    }
}

diesel::table! {
    booking_slots (slot_id) {
        slot_id -> Integer,
        booking_id -> Integer,
    }
}

diesel::table! {
    idempotency_keys (idempotency_key) {
        idempotency_key -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Integer,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        created_at -> Timestamp,
        provider_id -> Nullable<Integer>,
    }
}

diesel::table! {
    text_messages (id) {
        id -> Integer,
        booking_id -> Integer,
        kind -> Text,
        to_number -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        claim_token -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        provider_message_id -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    calendar_feeds (provider_id) {
        provider_id -> Integer,
        token_sha256 -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    login_throttle (email) {
        email -> Text,
        failures -> Integer,
        window_started_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Integer,
        at -> Timestamp,
        actor_kind -> Text,
        actor_user_id -> Nullable<Integer>,
        actor -> Text,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        booking_reference -> Nullable<Text>,
        from_state -> Nullable<Text>,
        to_state -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Integer,
        kind -> Text,
        booking_id -> Nullable<Integer>,
        sequence -> Integer,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        claim_token -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        waitlist_entry_id -> Nullable<Integer>,
        waitlist_offer_id -> Nullable<Integer>,
        webhook_endpoint_id -> Nullable<Integer>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Integer,
        url -> Text,
        description -> Text,
        event_types -> Text,
        include_patient_data -> Bool,
        active -> Bool,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        failing_since -> Nullable<Timestamp>,
        disabled_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Integer,
        endpoint_id -> Integer,
        message_id -> Text,
        event_type -> Text,
        subject -> Text,
        booking_id -> Nullable<Integer>,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        claim_token -> Nullable<Text>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    waitlist_entries (id) {
        id -> Integer,
        reference -> Text,
        status -> Text,
        visit_type_id -> Integer,
        provider_id -> Nullable<Integer>,
        location_id -> Nullable<Integer>,
        earliest_date -> Date,
        latest_date -> Date,
        weekdays -> Integer,
        day_parts -> Integer,
        move_booking_id -> Nullable<Integer>,
        patient_name -> Text,
        patient_email -> Text,
        patient_phone -> Nullable<Text>,
        source -> Text,
        created_at -> Timestamp,
        verified_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        booking_id -> Nullable<Integer>,
        language -> Text,
    }
}

diesel::table! {
    waitlist_offers (id) {
        id -> Integer,
        entry_id -> Integer,
        hold_id -> Integer,
        slot_id -> Integer,
        provider_id -> Integer,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        status -> Text,
        freed_at -> Timestamp,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        booking_id -> Nullable<Integer>,
    }
}

diesel::joinable!(slots -> providers (provider_id));
diesel::joinable!(outbox -> bookings (booking_id));
diesel::joinable!(outbox -> webhook_endpoints (webhook_endpoint_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(calendar_feeds -> providers (provider_id));
diesel::joinable!(text_messages -> bookings (booking_id));
diesel::joinable!(outbox -> waitlist_entries (waitlist_entry_id));
diesel::joinable!(bookings -> slots (slot_id));
diesel::joinable!(bookings -> visit_types (visit_type_id));
diesel::joinable!(visit_type_providers -> visit_types (visit_type_id));
diesel::joinable!(visit_type_providers -> providers (provider_id));
diesel::joinable!(booking_slots -> slots (slot_id));
diesel::joinable!(booking_slots -> bookings (booking_id));
diesel::joinable!(bookings -> series (series_id));

diesel::joinable!(slots -> locations (location_id));
diesel::joinable!(time_off -> providers (provider_id));
diesel::joinable!(time_off_slots -> time_off (time_off_id));
diesel::joinable!(time_off_slots -> slots (slot_id));

diesel::joinable!(audit_log -> users (actor_user_id));
diesel::joinable!(waitlist_offers -> waitlist_entries (entry_id));
diesel::joinable!(bookings -> patients (patient_id));
diesel::joinable!(patient_search_terms -> patients (patient_id));
diesel::joinable!(notes -> bookings (booking_id));
diesel::joinable!(notes -> patients (patient_id));
diesel::joinable!(notes -> users (author_user_id));

diesel::allow_tables_to_appear_in_same_query!(
    providers,
    slots,
    bookings,
    idempotency_keys,
    outbox,
    users,
    login_throttle,
    audit_log,
    visit_types,
    visit_type_providers,
    booking_slots,
    series,
    locations,
    time_off,
    time_off_slots,
    holds,
    waitlist_entries,
    waitlist_offers,
    webhook_endpoints,
    webhook_deliveries,
    calendar_feeds,
    text_messages,
    patients,
    patient_search_terms,
    notes,
);
